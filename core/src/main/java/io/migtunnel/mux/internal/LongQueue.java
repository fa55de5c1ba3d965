package io.migtunnel.mux.internal;

/**
 * A FIFO of longs, as a growable ring of primitives, so that queueing one costs no allocation: a
 * stream's arrival stamps (one per buffer it holds to send) and the offsets of the session's pipe
 * probes. NOT thread safe: confined to the session's event loop.
 */
final class LongQueue {
    private long[] ring = new long[8];
    private int head;
    private int size;

    void add(long value) {
        if (size == ring.length) {
            long[] grown = new long[ring.length * 2];
            int tail = ring.length - head;
            System.arraycopy(ring, head, grown, 0, tail);
            System.arraycopy(ring, 0, grown, tail, head);
            ring = grown;
            head = 0;
        }
        ring[(head + size) & (ring.length - 1)] = value;
        size++;
    }

    /** The oldest value; the queue must not be empty. */
    long peek() {
        if (size == 0) {
            throw new IllegalStateException("the queue is empty");
        }
        return ring[head];
    }

    void poll() {
        peek();
        head = (head + 1) & (ring.length - 1);
        size--;
    }

    int size() {
        return size;
    }

    void clear() {
        head = 0;
        size = 0;
    }
}
