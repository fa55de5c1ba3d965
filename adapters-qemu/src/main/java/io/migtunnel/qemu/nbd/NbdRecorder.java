package io.migtunnel.qemu.nbd;

/**
 * Receives what {@link NbdStreamObserver} sees on one NBD connection. Called on the thread that
 * feeds the observer; implementations must be quick.
 */
public interface NbdRecorder {
    /** A request was sent; {@code length} is the request's length field (payload bytes for WRITE). */
    void onRequest(NbdCommand command, long length);

    /**
     * The reply to a request completed; {@code payloadBytes} is the data that came back (READ),
     * {@code error} the NBD error number (0 for success).
     */
    void onReply(NbdCommand command, long payloadBytes, long latencyNanos, int error);

    /** Decoding stopped because the exchange was not understood; bytes keep flowing untouched. */
    default void onUndecodable(String reason) {
    }

    /** {@code requests} in flight will get no reply seen here (the connection ended or decoding stopped). */
    default void onAbandoned(int requests) {
    }
}
