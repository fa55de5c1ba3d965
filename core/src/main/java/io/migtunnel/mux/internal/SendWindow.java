package io.migtunnel.mux.internal;

import io.migtunnel.protocol.ErrorCode;
import io.migtunnel.protocol.ProtocolException;

/**
 * One stream's send credit (this side → peer), in absolute byte offsets of the direction: how
 * much has been sent and how far the peer allows. Reactor-free; NOT thread safe, confined to the
 * session's event loop like the stream that owns it.
 */
final class SendWindow {
    /** Offset after the last byte sent. */
    private long sent;
    /** This side may send bytes below this offset (the peer's HELLO window, then its CREDITs). */
    private long limit;

    SendWindow(long initialLimit) {
        this.limit = initialLimit;
    }

    /** Bytes this side may send now. */
    long available() {
        return limit - sent;
    }

    /** {@code length} bytes were sent; the caller kept within {@link #available()}. */
    void onSent(int length) {
        sent += length;
    }

    /**
     * The peer's CREDIT. Returns by how many bytes the limit grew: 0 for a CREDIT that does not
     * raise it (offsets never decrease; a lower limit is ignored).
     *
     * @throws ProtocolException {@code PROTOCOL_ERROR} when {@code consumed} is beyond
     *                           {@code limit} or beyond what was sent
     */
    long onCredit(int streamId, long consumed, long newLimit) {
        if (consumed > newLimit || consumed > sent) {
            throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "CREDIT on stream " + streamId
                + " reports consumed offset " + consumed + " beyond limit " + newLimit + " or sent offset " + sent);
        }
        if (newLimit <= limit) {
            return 0;
        }
        long grown = newLimit - limit;
        limit = newLimit;
        return grown;
    }

    long sent() {
        return sent;
    }

    long limit() {
        return limit;
    }
}
