package io.migtunnel.mux.internal;

import io.migtunnel.mux.SessionClosedException;
import io.migtunnel.mux.StreamResetException;
import io.migtunnel.protocol.ErrorCode;
import io.migtunnel.protocol.Frame;
import io.migtunnel.protocol.FrameType;
import io.migtunnel.protocol.GoAwayFrameCodec;
import io.migtunnel.protocol.HelloFrameCodec;
import io.migtunnel.protocol.ProtocolException;
import io.migtunnel.protocol.ResumeFrameCodec;
import io.migtunnel.protocol.ResumeOkFrameCodec;
import io.migtunnel.protocol.ResumeTable;
import io.migtunnel.protocol.SessionFrameCodec;
import io.netty.buffer.ByteBuf;
import io.netty.util.collection.IntObjectHashMap;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;

/**
 * A resumable session's memory of itself (PROTOCOL.md section 13): its secrets, the streams it
 * has ended but not forgotten (tombstones), the grace period while disconnected, and both halves
 * of the resume exchange. NOT thread safe: confined to its session's event loop, except
 * {@link #onResume}, which runs on the loop of the connection that asks.
 */
final class Resumption {
    /** Stages of a client's resume attempt: what it waits for next. */
    private enum Stage { HELLO, SESSION, RESUME_OK }

    /** The most tombstones kept; beyond it an ended stream is forgotten at once (a peer that never answers PINGs). */
    static final int MAX_TOMBSTONES = ResumeTable.MAX_ENTRIES / 2;

    private final MuxSession session;
    private final Duration grace;
    /** Server: where resumable sessions are found; null for a client. */
    private SessionDirectory directory;
    /** Server: the TLS identity of the peer on the first connection (null in plaintext). */
    private Object peerIdentity;
    /** The session's token and secret, or (server, before the handshake) this connection's offer. */
    private SessionSecrets secrets;
    /**
     * Server, after a resume: the credentials the client resumed with, still valid until a frame
     * from it on the new connection shows that it got RESUME_OK (and moved to {@link #secrets}). A
     * connection lost before that leaves the client with these.
     */
    private SessionSecrets previous;
    /** Server: the nonce of this connection's SESSION. */
    private byte[] serverNonce;

    private final IntObjectHashMap<StreamState> tombstones = new IntObjectHashMap<>();
    /** Tombstones that wait for a PING to be sent after them. */
    private final List<StreamState> awaitingPing = new ArrayList<>();
    /** Tombstones forgotten when the PONG for {@link #pingOpaque} arrives. */
    private final List<StreamState> coveredByPing = new ArrayList<>();
    private boolean pingOutstanding;
    private long pingOpaque;
    private long pingsSent;

    private ScheduledFuture<?> graceTimer;
    private long disconnectedAt = -1;
    private final Sinks.Many<String> disconnects = Sinks.many().multicast().directBestEffort();

    // ---- a client's resume attempt ----
    private Link resuming;
    private Stage stage;
    private SessionSecrets offered;
    private byte[] attemptServerNonce;
    private byte[] clientNonce;
    private ScheduledFuture<?> attemptTimer;

    Resumption(MuxSession session, Duration grace) {
        this.session = session;
        this.grace = grace;
    }

    void serve(SessionDirectory directory, Object peerIdentity) {
        this.directory = directory;
        this.peerIdentity = peerIdentity;
    }

    boolean serves() {
        return directory != null;
    }

    Flux<String> disconnects() {
        return disconnects.asFlux();
    }

    // =====================================================================================
    // Establishing
    // =====================================================================================

    /** Server: SESSION right after HELLO, with fresh secrets for the session this connection may start. */
    void sendSession(FrameWriter writer) {
        secrets = SessionSecrets.random();
        serverNonce = SessionSecrets.nonce();
        writer.session(serverNonce, secrets);
    }

    /** Client: the server's SESSION on the first connection. */
    void onFirstSession(ByteBuf payload) {
        secrets = new SessionSecrets(SessionFrameCodec.token(payload), SessionFrameCodec.secret(payload));
    }

    /** The handshake completed and both sides keep the session. */
    void onEstablished(boolean client) {
        if (!client) {
            directory.register(secrets.token(), session);
        }
    }

    // =====================================================================================
    // Disconnected
    // =====================================================================================

    void disconnected(String why) {
        disconnectedAt = session.now();
        pingBack();
        graceTimer = session.loop().schedule(() -> session.endFor(new SessionClosedException(ErrorCode.INTERNAL_ERROR,
                "not resumed within the grace period of " + grace.toSeconds() + " s after the connection was lost ("
                    + why + ")")),
            grace.toNanos(), TimeUnit.NANOSECONDS);
        disconnects.tryEmitNext(why);
    }

    /** The session ended: nothing is kept, no resume is possible any more. */
    void end(Throwable cause) {
        cancel(graceTimer);
        cancel(attemptTimer);
        if (resuming != null) {
            Link l = resuming;
            resuming = null;
            l.drop();
            l.resumeFailed(cause);
        }
        if (directory != null && secrets != null) {
            directory.unregister(secrets.token(), session);
        }
        if (directory != null && previous != null) {
            directory.unregister(previous.token(), session);
        }
        for (StreamState s : tombstones.values()) {
            s.forget();
        }
        tombstones.clear();
        awaitingPing.clear();
        coveredByPing.clear();
        disconnects.tryEmitComplete();
    }

    // =====================================================================================
    // Server: a connection asks to resume
    // =====================================================================================

    /**
     * On the fresh session of the connection {@code from}, whose HELLO asked to resume: finds the
     * session the RESUME names and hands the connection to it; the fresh session dissolves.
     */
    void onResume(Link from, ByteBuf payload, HelloFrameCodec.PeerLimits limits) {
        byte[] token = ResumeFrameCodec.token(payload);
        ResumeRequest request = new ResumeRequest(token, ResumeFrameCodec.clientNonce(payload),
            ResumeFrameCodec.proof(payload), ResumeFrameCodec.table(payload), serverNonce, secrets, peerIdentity, limits);
        MuxSession target = directory.find(token);
        if (target == null) {
            session.refuseResume(from, "no such session (it ended, or this side restarted)");
            return;
        }
        from.moveTo(target);
        session.dissolve(new SessionClosedException(ErrorCode.CANCELLED, "the connection resumed another session"));
        target.runOnLoop(() -> target.resumption().adopt(from, request));
    }

    /** What a RESUME asked, with what the server knows of the connection it came on. */
    record ResumeRequest(byte[] token, byte[] clientNonce, byte[] proof, ResumeTable table, byte[] serverNonce,
                         SessionSecrets rotated, Object peerIdentity, HelloFrameCodec.PeerLimits limits) {
    }

    /** On the resumed session: checks the request and, if it holds, moves onto the connection. */
    private void adopt(Link from, ResumeRequest request) {
        SessionSecrets named = secrets.names(request.token()) ? secrets
            : previous != null && previous.names(request.token()) ? previous : null;
        String refusal = session.isClosed() || named == null ? "no such session (it ended)"
            : !Objects.equals(peerIdentity, request.peerIdentity()) ? "peer identity differs from the session's first connection"
            : !SessionSecrets.sameProof(named.clientProof(request.serverNonce(), request.clientNonce()), request.proof())
                ? "bad proof"
            : !session.peerLimits().equals(request.limits()) ? "peer limits differ: " + request.limits() + " now, "
                + session.peerLimits() + " before"
            : null;
        if (refusal == null) {
            String disagreement = session.disagreement(request.table());
            refusal = disagreement == null ? null : "stream state disagrees: " + disagreement;
        }
        if (refusal != null) {
            session.refuseResume(from, refusal);
            return;
        }
        byte[] proof = named.serverProof(request.serverNonce(), request.clientNonce());
        SessionSecrets unused = named == secrets ? previous : secrets;
        if (unused != null) {
            directory.unregister(unused.token(), session);
        }
        previous = named;
        secrets = request.rotated();
        directory.register(secrets.token(), session);
        from.writer().resumeOk(proof, session.table());
        finish(from, request.table());
    }

    // =====================================================================================
    // Client: resuming over a new connection
    // =====================================================================================

    void startResume(Link l) {
        if (session.isClosed() || session.isConnected() || resuming != null || secrets == null) {
            l.drop();
            l.resumeFailed(new IllegalStateException(session.isClosed() ? "the session has ended"
                : session.isConnected() ? "the session is connected" : "a resume is already in progress"));
            return;
        }
        resuming = l;
        stage = Stage.HELLO;
        l.writer().hello(session.config(), HelloFrameCodec.RESUMABLE | HelloFrameCodec.RESUME);
        l.writer().flush();
        Duration timeout = session.config().handshakeTimeout();
        attemptTimer = session.loop().schedule(() -> abandon(l, ErrorCode.PROTOCOL_ERROR,
            "no answer to the resume within " + timeout), timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    boolean isResuming(Link l) {
        return l != null && l == resuming;
    }

    void onResumeFrame(Link l, Frame frame) {
        try {
            if (frame.type() == FrameType.GOAWAY) {
                onRefusal(l, frame.payload());
                return;
            }
            FrameType expected = switch (stage) {
                case HELLO -> FrameType.HELLO;
                case SESSION -> FrameType.SESSION;
                case RESUME_OK -> FrameType.RESUME_OK;
            };
            if (frame.type() != expected) {
                throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "resume: expected " + expected + ", got "
                    + frame.type());
            }
            switch (stage) {
                case HELLO -> onResumeHello(l, frame.payload());
                case SESSION -> onResumeSession(l, frame.payload());
                case RESUME_OK -> onResumeOk(l, frame.payload());
            }
        } catch (ProtocolException e) {
            abandon(l, e.code(), e.getMessage());
        } finally {
            frame.release();
        }
    }

    private void onResumeHello(Link l, ByteBuf payload) {
        HelloFrameCodec.PeerLimits limits = HelloFrameCodec.decode(payload);
        int flags = HelloFrameCodec.flags(payload);
        if ((flags & HelloFrameCodec.RESUMABLE) == 0) {
            refuseFromClient(l, "the peer no longer keeps sessions");
        } else if (!limits.equals(session.peerLimits())) {
            refuseFromClient(l, "peer limits differ: " + limits + " now, " + session.peerLimits() + " before");
        } else {
            stage = Stage.SESSION;
        }
    }

    private void onResumeSession(Link l, ByteBuf payload) {
        offered = new SessionSecrets(SessionFrameCodec.token(payload), SessionFrameCodec.secret(payload));
        attemptServerNonce = SessionFrameCodec.nonce(payload);
        clientNonce = SessionSecrets.nonce();
        l.writer().resume(secrets.token(), clientNonce, secrets.clientProof(attemptServerNonce, clientNonce),
            session.table());
        l.writer().flush();
        stage = Stage.RESUME_OK;
    }

    private void onResumeOk(Link l, ByteBuf payload) {
        if (!SessionSecrets.sameProof(secrets.serverProof(attemptServerNonce, clientNonce),
                ResumeOkFrameCodec.proof(payload))) {
            refuseFromClient(l, "bad server proof");
            return;
        }
        ResumeTable theirs = ResumeOkFrameCodec.table(payload);
        String disagreement = session.disagreement(theirs);
        if (disagreement != null) {
            refuseFromClient(l, "stream state disagrees: " + disagreement);
            return;
        }
        cancel(attemptTimer);
        resuming = null;
        secrets = offered;
        finish(l, theirs);
    }

    /** A GOAWAY during the exchange: a refusal ends the session; anything else ends this attempt. */
    private void onRefusal(Link l, ByteBuf payload) {
        long code = GoAwayFrameCodec.code(payload);
        String message = GoAwayFrameCodec.message(payload);
        if (code == ErrorCode.RESUME_REFUSED.code() || code == ErrorCode.REFUSED.code()) {
            resuming = null;
            cancel(attemptTimer);
            l.drop();
            SessionClosedException cause = new SessionClosedException(ErrorCode.RESUME_REFUSED,
                "the peer refused to resume the session: " + message);
            session.listener().onResumeRefused("the peer refused: " + message);
            l.resumeFailed(cause);
            session.endFor(cause);
        } else {
            abandon(l, null, "the peer sent GOAWAY " + ErrorCode.describe(code) + ": " + message);
        }
    }

    /** The client refuses the server's answer: the server has moved on, so the session ends. */
    private void refuseFromClient(Link l, String reason) {
        resuming = null;
        cancel(attemptTimer);
        l.writer().goAway(ErrorCode.RESUME_REFUSED, 0, reason);
        l.writer().flush();
        l.drop();
        SessionClosedException cause = new SessionClosedException(ErrorCode.RESUME_REFUSED,
            "cannot resume the session: " + reason);
        session.listener().onResumeRefused(reason);
        l.resumeFailed(cause);
        session.endFor(cause);
    }

    /**
     * This attempt on {@code l} failed (a connection or protocol problem, not a refusal): the
     * connection closes (after GOAWAY {@code code} when not null) and the session stays disconnected.
     */
    void abandon(Link l, ErrorCode code, String why) {
        if (l != resuming) {
            return;
        }
        resuming = null;
        cancel(attemptTimer);
        if (code != null) {
            l.writer().goAway(code, 0, why);
            l.writer().flush();
        }
        l.drop();
        l.resumeFailed(new SessionClosedException(ErrorCode.INTERNAL_ERROR, "resume attempt failed: " + why));
    }

    /** Both sides agreed: the session continues on {@code l}. */
    private void finish(Link l, ResumeTable theirs) {
        long outage = disconnectedAt < 0 ? 0 : session.now() - disconnectedAt;
        disconnectedAt = -1;
        cancel(graceTimer);
        pingBack(); // a PING sent on a connection this side had not seen die may never be answered
        long retransmitted = session.switchTo(l, theirs);
        session.listener().onResumed(session, Duration.ofNanos(outage), retransmitted);
        l.resumeSucceeded();
    }

    // =====================================================================================
    // Tables and reconciliation (section 13.4)
    // =====================================================================================

    ResumeTable table(IntObjectHashMap<StreamState> streams, int lastPeer) {
        List<ResumeTable.Entry> entries = new ArrayList<>(streams.size() + tombstones.size());
        for (StreamState s : known(streams)) {
            entries.add(s.entry());
        }
        return new ResumeTable(lastPeer, entries);
    }

    /** Open streams and tombstones, by id. */
    private List<StreamState> known(IntObjectHashMap<StreamState> streams) {
        List<StreamState> all = new ArrayList<>(streams.size() + tombstones.size());
        all.addAll(streams.values());
        all.addAll(tombstones.values());
        all.sort(Comparator.comparingInt(StreamState::id));
        return all;
    }

    private StreamState find(IntObjectHashMap<StreamState> streams, int id) {
        StreamState s = streams.get(id);
        return s != null ? s : tombstones.get(id);
    }

    String disagreement(ResumeTable theirs, IntObjectHashMap<StreamState> streams, StreamIds ids) {
        int last = theirs.lastPeerId();
        if (last != 0 && (!ids.isLocal(last) || ids.isIdle(last))) {
            return "the peer's last stream id " + last + " was never opened here";
        }
        IntObjectHashMap<ResumeTable.Entry> byId = new IntObjectHashMap<>(theirs.entries().size());
        for (ResumeTable.Entry e : theirs.entries()) {
            byId.put(e.streamId(), e);
            StreamState s = find(streams, e.streamId());
            if (s == null) {
                if (ids.isLocal(e.streamId()) && ids.isIdle(e.streamId())) {
                    return "stream " + e.streamId() + " was never opened here";
                }
            } else {
                String d = s.disagreement(e);
                if (d != null) {
                    return d;
                }
            }
        }
        for (StreamState s : known(streams)) {
            if (!byId.containsKey(s.id()) && s.isLocallyOpened() && s.id() > last) {
                String d = s.lostOpenDisagreement();
                if (d != null) {
                    return d;
                }
            }
        }
        return null;
    }

    /** Sends what the peer missed, per {@code theirs}; returns the DATA bytes sent again. */
    long reconcile(ResumeTable theirs, IntObjectHashMap<StreamState> streams, int maxFrame) {
        IntObjectHashMap<ResumeTable.Entry> byId = new IntObjectHashMap<>(theirs.entries().size());
        for (ResumeTable.Entry e : theirs.entries()) {
            byId.put(e.streamId(), e);
        }
        long retransmitted = 0;
        for (StreamState s : known(streams)) {
            ResumeTable.Entry e = byId.get(s.id());
            boolean tombstone = tombstones.containsKey(s.id());
            if (e != null) {
                retransmitted += s.resend(e, maxFrame);
            } else if (s.isLocallyOpened() && s.id() > theirs.lastPeerId()) {
                retransmitted += s.resendLostOpen(maxFrame); // the OPEN was lost
                if (tombstone) {
                    forget(s);
                }
            } else if (tombstone) {
                forget(s); // both sides are done with it
            } else if (s.bothFinished()) {
                s.forget(); // the peer has it all; the local consumer is still reading
            } else {
                s.terminate(new StreamResetException(ErrorCode.CANCELLED.code(), "ended by the peer during the outage",
                    true));
            }
        }
        for (StreamState s : streams.values()) {
            s.restateCredit();
        }
        maybePing();
        return retransmitted;
    }

    // =====================================================================================
    // Tombstones
    // =====================================================================================

    void keepTombstone(StreamState s) {
        if (tombstones.size() >= MAX_TOMBSTONES) {
            s.forget();
            return;
        }
        tombstones.put(s.id(), s);
        awaitingPing.add(s);
        maybePing();
    }

    /** Server: a frame arrived on the session's connection; the client has the new credentials. */
    void onPeerFrame() {
        if (previous != null) {
            directory.unregister(previous.token(), session);
            previous = null;
        }
    }

    /** The session's current token (for tests). */
    byte[] token() {
        return secrets.token().clone();
    }

    int tombstones() {
        return tombstones.size();
    }

    private void forget(StreamState s) {
        tombstones.remove(s.id());
        awaitingPing.remove(s);
        coveredByPing.remove(s);
        s.forget();
    }

    /** Sends the PING whose PONG lets this side forget the waiting tombstones (one outstanding). */
    private void maybePing() {
        if (pingOutstanding || awaitingPing.isEmpty() || !session.isConnected()) {
            return;
        }
        coveredByPing.addAll(awaitingPing);
        awaitingPing.clear();
        pingOutstanding = true;
        pingOpaque = 0x7F5E_0000_0000_0000L | ++pingsSent;
        session.writer().ping(pingOpaque);
        session.flushSoon();
    }

    /** Whether the PONG was the tombstones' (then they are forgotten). */
    boolean onPong(long opaque) {
        if (!pingOutstanding || opaque != pingOpaque) {
            return false;
        }
        pingOutstanding = false;
        for (StreamState s : coveredByPing) {
            tombstones.remove(s.id());
            s.forget();
        }
        coveredByPing.clear();
        maybePing();
        return true;
    }

    /** The PING in flight was lost with the connection: its tombstones wait for the next one. */
    private void pingBack() {
        awaitingPing.addAll(0, coveredByPing);
        coveredByPing.clear();
        pingOutstanding = false;
    }

    private static void cancel(ScheduledFuture<?> timer) {
        if (timer != null) {
            timer.cancel(false);
        }
    }
}
