package io.migtunnel.mux.internal;

/**
 * How much a stream asks of its local producer (Reactive Streams {@code request(n)}): enough to
 * use the peer's credit, never more than {@link #PREFETCH_BUFFERS} requested nor
 * {@link #PREFETCH_BYTES} held at once. Demand follows credit, so a peer that grants nothing
 * makes the local socket stop being read. Reactor-free; confined to the session's event loop.
 */
final class ProducerDemand {
    /** Buffers requested from a local producer at a time. */
    static final int PREFETCH_BUFFERS = 8;
    /** Bytes taken from a local producer and held while waiting for credit or the connection. */
    static final long PREFETCH_BYTES = 1 << 20;

    /** Buffers requested and not received yet. */
    private int outstanding;
    /** Bytes received from the producer and not sent yet. */
    private long held;
    /** The producer completed: nothing more will be requested. */
    private boolean done;

    /**
     * How many buffers to request now (0 for none), given the send credit left: a batch when at
     * most half of {@link #PREFETCH_BUFFERS} is outstanding, the bytes held are below
     * {@link #PREFETCH_BYTES} and the credit covers more than what is held.
     */
    int toRequest(long creditAvailable) {
        if (done || outstanding >= PREFETCH_BUFFERS / 2 || held >= PREFETCH_BYTES || held >= creditAvailable) {
            return 0;
        }
        int n = PREFETCH_BUFFERS - outstanding;
        outstanding = PREFETCH_BUFFERS;
        return n;
    }

    /** The producer delivered a buffer of {@code bytes} (0 for an empty one that is dropped). */
    void onReceived(int bytes) {
        if (outstanding > 0) {
            outstanding--;
        }
        held += bytes;
    }

    /** {@code bytes} of what is held were sent (or discarded). */
    void onSent(long bytes) {
        held -= bytes;
    }

    /** The producer completed or failed. */
    void onDone() {
        done = true;
        outstanding = 0;
    }

    /** Bytes received from the producer and not sent yet. */
    long held() {
        return held;
    }
}
