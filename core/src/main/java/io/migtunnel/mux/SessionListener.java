package io.migtunnel.mux;

import io.migtunnel.protocol.ErrorCode;
import java.time.Duration;

/**
 * Observes a session: the hook for logging and metrics. Called on the session's event loop;
 * implementations must be quick and must not block. Every method has an empty default.
 */
public interface SessionListener {
    /** Observes nothing. */
    SessionListener NONE = new SessionListener() {
    };

    /** The handshake completed. */
    default void onReady(Session session) {
    }

    /** A stream was opened by either side. */
    default void onStreamOpened(MuxStream stream) {
    }

    /** A stream finished; {@code cause} is null when both directions ended with FIN. */
    default void onStreamClosed(MuxStream stream, Throwable cause) {
    }

    /** One DATA frame of {@code bytes} payload bytes (0 for a bare FIN) was queued for the connection. */
    default void onDataSent(MuxStream stream, int bytes) {
    }

    /**
     * A DATA frame of {@code stream} is being written to the connection {@code nanos} nanoseconds
     * after its first byte was taken from the stream's local producer (for a local socket: read
     * from it): the time it waited for credit, for the writer's turn (its urgency) and for the
     * connection to take more. Reported once per frame with payload, on the session's loop.
     */
    default void onQueueingDelay(MuxStream stream, long nanos) {
    }

    /** One DATA frame of {@code bytes} payload bytes (0 for a bare FIN) arrived within the stream's window. */
    default void onDataReceived(MuxStream stream, int bytes) {
    }

    /**
     * The payload of a non-empty DATA frame, {@code sent} or received, for listeners that decode
     * what a stream carries (NBD awareness). A read-only view: never release, retain or move its
     * indices, and do not keep it after returning.
     */
    default void onPayload(MuxStream stream, boolean sent, io.netty.buffer.ByteBuf payload) {
    }

    /** A listener that forwards every event to each of {@code listeners}, in order. */
    static SessionListener all(SessionListener... listeners) {
        return new CompositeListener(java.util.List.of(listeners));
    }

    /**
     * The stream had data to send but no credit for {@code nanos} nanoseconds; reported when credit
     * arrives, or when the stream ends while still waiting.
     */
    default void onCreditBlocked(MuxStream stream, long nanos) {
    }

    /**
     * The bytes {@code stream} holds for its local consumer (received, not yet taken) changed by
     * {@code delta}: up when DATA arrives, down when the consumer takes a buffer and by what is left
     * when the stream ends. A stream's deltas sum to 0 by the time it has closed.
     */
    default void onBufferedChanged(MuxStream stream, long delta) {
    }

    /**
     * The credit the peer allows {@code stream} (bytes it may send before the next CREDIT) changed by
     * {@code delta}: up by the peer's initial window when the stream is created and at each CREDIT
     * that raises it, down for each DATA frame sent and by what is left when the stream ends. A
     * stream's deltas sum to 0 by the time it has closed.
     */
    default void onSendWindowChanged(MuxStream stream, long delta) {
    }

    /** A PONG measured the round trip. */
    default void onRoundTrip(Duration rtt) {
    }

    /** The session failed with a protocol (or keepalive) error and sent GOAWAY. */
    default void onProtocolError(ErrorCode code, String message) {
    }

    /** The peer sent GOAWAY. */
    default void onGoAwayReceived(long code, String message) {
    }

    /**
     * The connection of a resumable session was lost ({@code why}); the session waits, for its
     * grace period, to be resumed on a new one.
     */
    default void onDisconnected(Session session, String why) {
    }

    /**
     * The session continues on a new connection, {@code outage} after this side noticed the loss
     * (zero if it had not), having sent {@code retransmittedBytes} of DATA again.
     */
    default void onResumed(Session session, Duration outage, long retransmittedBytes) {
    }

    /** A connection asking to resume was refused, or refused this side's answer, for {@code reason}. */
    default void onResumeRefused(String reason) {
    }

    /** The session closed; {@code cause} is null after a graceful close. */
    default void onClosed(Session session, Throwable cause) {
    }
}
