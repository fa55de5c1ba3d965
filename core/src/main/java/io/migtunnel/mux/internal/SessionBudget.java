package io.migtunnel.mux.internal;

/**
 * The session buffer (PROTOCOL.md section 6): what one session may hold received and not yet
 * consumed, over all streams. Every open stream reserves one stream window of it until FIN, so
 * the credit outstanding never exceeds it; a stream that finds no room is refused by itself.
 * Reactor-free; NOT thread safe, confined to the session's event loop.
 */
final class SessionBudget {
    /** {@link io.migtunnel.mux.SessionConfig#maxSessionBuffered()}. */
    private final long max;
    /** What one stream reserves at OPEN: the stream window this side grants. */
    private final int streamWindow;
    /** Bytes received and not yet consumed, over all streams; at most {@link #max}. */
    private long buffered;
    /** Budget the open streams have reserved; at most {@link #max}. */
    private long reserved;

    SessionBudget(long max, int streamWindow) {
        this.max = max;
        this.streamWindow = streamWindow;
    }

    /** Reserves one stream window for a new stream; null when there is no room. */
    Share reserve() {
        if (reserved + streamWindow > max) {
            return null;
        }
        reserved += streamWindow;
        return new Share(streamWindow);
    }

    /** A share that reserves nothing, for a stream refused at once (it buffers nothing). */
    Share unreserved() {
        return new Share(0);
    }

    /** Whether a stream window fits now, without reserving it. */
    boolean hasRoom() {
        return reserved + streamWindow <= max;
    }

    /** Why a stream finds no room, naming the limit. */
    String noRoomMessage() {
        return "session buffer limit " + max + " reached: " + reserved
            + " bytes reserved by open streams, a stream needs " + streamWindow;
    }

    /** Whether {@code length} more buffered bytes stay within the limit. */
    boolean admits(int length) {
        return buffered + length <= max;
    }

    /** Why {@code length} more bytes do not fit, naming the limit and the stream. */
    String exceededMessage(int length, Object stream) {
        return "session buffer limit " + max + " exceeded: " + buffered + " bytes buffered, " + length
            + " more on " + stream;
    }

    long buffered() {
        return buffered;
    }

    long reserved() {
        return reserved;
    }

    /**
     * One stream's part of the budget: one window while the peer may still send, then only what
     * the stream still buffers, then nothing. Every change goes through here, so the session's
     * totals always equal the sum of its streams' shares.
     */
    final class Share {
        /** Budget this stream holds reserved. */
        private long reservation;
        /** Bytes this stream buffers (received, not yet consumed). */
        private long held;
        /** FIN received: the reservation follows {@link #held} down. */
        private boolean finished;

        private Share(long reservation) {
            this.reservation = reservation;
        }

        /** {@code length} bytes arrived and are buffered; the caller checked {@link #admits}. */
        void buffer(int length) {
            held += length;
            buffered += length;
        }

        /** The consumer took {@code length} buffered bytes. */
        void take(int length) {
            held -= length;
            buffered -= length;
            if (finished) {
                unreserve(length);
            }
        }

        /** FIN arrived: the peer sends no more, so keep only what is buffered. */
        void finish() {
            finished = true;
            unreserve(reservation - held);
        }

        /** The stream ended abruptly: its buffered bytes are discarded and its reservation freed. */
        void release() {
            buffered -= held;
            held = 0;
            unreserve(reservation);
        }

        long held() {
            return held;
        }

        private void unreserve(long bytes) {
            reservation -= bytes;
            reserved -= bytes;
        }
    }
}
