package io.migtunnel.mux.internal;

/**
 * One stream's receive credit (peer → this side), in absolute byte offsets of the direction: how
 * far the peer may send, and when to tell it that it may send more. Returns credit only for bytes
 * the local consumer has taken, half a window at a time (PROTOCOL.md section 6). Reactor-free;
 * NOT thread safe, confined to the session's event loop like the stream that owns it.
 */
final class ReceiveWindow {
    /** The window granted again after each CREDIT: {@code limit = consumed + window}. */
    private final int window;
    /** Offset after the last byte received. */
    private long received;
    /** Offset after the last byte the local consumer has taken; what CREDIT reports. */
    private long consumed;
    /** The consumed offset carried by the last CREDIT sent (0 before any). */
    private long credited;
    /** The peer may send bytes below this offset. */
    private long limit;

    ReceiveWindow(int window) {
        this.window = window;
        this.limit = window;
    }

    /** Whether {@code length} more bytes stay within the granted limit. */
    boolean fits(int length) {
        return received + length <= limit;
    }

    /** {@code length} bytes arrived; the caller checked {@link #fits}. */
    void onReceived(int length) {
        received += length;
    }

    /** The local consumer took {@code length} bytes. */
    void onConsumed(int length) {
        consumed += length;
    }

    /**
     * Whether a CREDIT is due: at least half a window consumed since the last one. When it is,
     * the limit moves to {@code consumed + window} and the caller sends {@link #consumed()} and
     * {@link #limit()}.
     */
    boolean takeCreditDue() {
        if (consumed - credited < window / 2) {
            return false;
        }
        credited = consumed;
        limit = consumed + window;
        return true;
    }

    long received() {
        return received;
    }

    long consumed() {
        return consumed;
    }

    long limit() {
        return limit;
    }
}
