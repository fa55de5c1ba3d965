package io.migtunnel.mux.internal;

/**
 * How many DATA payload bytes this side has written that the peer has not read yet: what sits in
 * the connection's outbound buffer, the kernels' buffers and the peer's unread receive queue, all
 * of it ahead of any frame written now. Measured with pipe probes (PROTOCOL.md section 8): a PING
 * written after the bytes up to offset O is answered, in order, once the peer has read them, so
 * its PONG says that everything up to O left the pipe.
 *
 * <p>While a stream of urgency 0 is active, the session's writer keeps the other streams' DATA out
 * of a pipe that is {@link #full()}: an urgent frame then waits behind at most the limit's bytes,
 * where a TCP connection's queues would hold megabytes. A probe goes out every quarter of the
 * limit while that applies, so at most five are outstanding and the peer's PONGs never approach
 * its control frame limit. NOT thread safe: confined to the session's event loop.
 */
final class PipeDepth {
    /** The opaque of a pipe probe: this prefix in the top 16 bits, a sequence number below. */
    private static final long PROBE_PREFIX = 0x7F5D_0000_0000_0000L;
    private static final long PREFIX_MASK = 0xFFFF_0000_0000_0000L;

    private final long limit;
    private final long probeEvery;
    /** DATA payload bytes written on the current connection. */
    private long written;
    /** The offset the last answered probe covered: read by the peer. */
    private long read;
    /** The offset of the last probe sent. */
    private long probedAt;
    private long probes;
    /** The offsets of the probes not answered yet, oldest first. */
    private final LongQueue outstanding = new LongQueue();

    /** A pipe that counts as full at {@code limit} bytes; 0 turns the cap off (never full, no probes). */
    PipeDepth(long limit) {
        this.limit = limit;
        this.probeEvery = Math.max(1, limit / 4);
    }

    /** Whether the cap is on (a limit was set). */
    boolean on() {
        return limit > 0;
    }

    /** Whether capped DATA must wait: the cap is on and the pipe holds at least its limit. */
    boolean full() {
        return on() && written - read >= limit;
    }

    void onWritten(int bytes) {
        written += bytes;
    }

    /**
     * The opaque of a probe to send now, or -1: while capping ({@code capping}), one every quarter
     * of the limit, and one whenever the pipe is full with none outstanding (its PONG is what ends
     * the wait).
     */
    long probeIfDue(boolean capping) {
        if (!on() || !capping || written == probedAt) {
            return -1;
        }
        if (written - probedAt < probeEvery && !(outstanding.size() == 0 && full())) {
            return -1;
        }
        probedAt = written;
        outstanding.add(written);
        return PROBE_PREFIX | (++probes & ~PREFIX_MASK);
    }

    /** Whether a PING's {@code opaque} is a pipe probe's. */
    private static boolean isProbe(long opaque) {
        return (opaque & PREFIX_MASK) == PROBE_PREFIX;
    }

    /** Whether {@code opaque} answers a pipe probe (then the pipe's depth went down). */
    boolean onPong(long opaque) {
        if (!isProbe(opaque)) {
            return false;
        }
        if (outstanding.size() > 0) { // PONGs come in the order of their PINGs
            read = outstanding.peek();
            outstanding.poll();
        }
        return true;
    }

    /** A new connection: its pipe is empty, and probes sent on the old one are never answered. */
    void reset() {
        read = written;
        probedAt = written;
        outstanding.clear();
    }
}
