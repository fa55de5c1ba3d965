package io.migtunnel.mux.internal;

import io.migtunnel.protocol.ErrorCode;
import io.migtunnel.protocol.ProtocolException;

/**
 * The stream ids of one session (PROTOCOL.md section 2): the client opens odd ids and the server
 * even ones, each side's strictly increasing. Knows which ids are idle, checks the peer's OPENs
 * and GOAWAY's last stream id, and hands out this side's next id. NOT thread safe: confined to
 * the session's event loop.
 */
final class StreamIds {
    private final boolean client;
    /** The id this side opens next. */
    private int nextLocal;
    /** The highest id the peer has opened (0 before any). */
    private int lastPeer;
    /** The last stream id of the peer's graceful GOAWAY; -1 before one. */
    private long peerGoAwayLast = -1;

    StreamIds(boolean client) {
        this.client = client;
        this.nextLocal = client ? 1 : 2;
    }

    /** Whether {@code id} has this side's parity: a stream this side opens. */
    boolean isLocal(int id) {
        return (id % 2 == 1) == client;
    }

    /** This side's next id, now used. */
    int nextLocal() {
        int id = nextLocal;
        nextLocal += 2;
        return id;
    }

    /** The highest id the peer has opened: the {@code last stream id} of this side's GOAWAY. */
    int lastPeer() {
        return lastPeer;
    }

    /** Whether {@code id} was never opened by either side. */
    boolean isIdle(int id) {
        return isLocal(id) ? id >= nextLocal : id > lastPeer;
    }

    /** The peer opens {@code id}: of its parity and above its last, or a {@code PROTOCOL_ERROR}. */
    void peerOpens(int id) {
        if (isLocal(id)) {
            throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "OPEN with id " + id + " of this side's parity");
        }
        if (id <= lastPeer) {
            throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "duplicate OPEN: id " + id + " not above " + lastPeer);
        }
        lastPeer = id;
    }

    /**
     * The peer's graceful GOAWAY says it processed this side's streams up to {@code last}: 0 or
     * of this side's parity, not idle, and not above an earlier GOAWAY's, or a {@code PROTOCOL_ERROR}.
     */
    void peerGoesAway(long last) {
        if (last >= nextLocal) {
            throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "GOAWAY last stream id " + last + " was never opened");
        }
        if (last != 0 && !isLocal((int) last)) {
            throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "GOAWAY last stream id " + last
                + " is not of this side's parity");
        }
        if (peerGoAwayLast >= 0 && last > peerGoAwayLast) {
            throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "GOAWAY last stream id " + last
                + " above the " + peerGoAwayLast + " of the peer's earlier GOAWAY");
        }
        peerGoAwayLast = last;
    }
}
