package io.migtunnel.mux.internal;

import io.migtunnel.mux.StreamPriorities;
import java.util.ArrayDeque;

/**
 * Which stream the session's writer serves next: the most urgent class with a stream waiting,
 * round-robin within a class, one frame per turn. So that no class starves, after
 * {@link #SHARE_EVERY} frames of more urgent classes while a less urgent one waits, one frame
 * goes to the least recently served waiting class below. NOT thread safe: confined to the
 * session's event loop.
 */
final class WriteScheduler<T extends WriteScheduler.Scheduled> {
    /** What the scheduler queues: something with an urgency that does not change while queued. */
    interface Scheduled {
        /** 0 (most urgent) to 7. */
        int urgency();
    }

    /** Frames of more urgent classes between two guaranteed frames of a waiting less urgent one. */
    static final int SHARE_EVERY = 8;
    private static final int CLASSES = StreamPriorities.LEAST_URGENT + 1;

    @SuppressWarnings("unchecked")
    private final ArrayDeque<T>[] classes = new ArrayDeque[CLASSES];
    /** Bit u set: class u has a stream waiting. */
    private int waiting;
    /** Frames served from the top class since a less urgent one last got its share. */
    private int sinceShare;
    /** The class below the top that got the last share (-1 before any); the next share goes to the next one down. */
    private int lastShared = -1;

    WriteScheduler() {
        for (int u = 0; u < CLASSES; u++) {
            classes[u] = new ArrayDeque<>();
        }
    }

    /** Queues {@code s} at the end of its class (the caller keeps it queued once). */
    void add(T s) {
        int u = s.urgency();
        classes[u].add(s);
        waiting |= 1 << u;
    }

    /** The next stream to serve, removed from the queue; null when none waits. */
    T poll() {
        if (waiting == 0) {
            return null;
        }
        int top = Integer.numberOfTrailingZeros(waiting);
        int below = waiting & ~((2 << top) - 1);
        int u = top;
        if (below != 0 && ++sinceShare > SHARE_EVERY) {
            sinceShare = 0;
            u = nextShare(below);
        } else if (below == 0) {
            sinceShare = 0;
        }
        T s = classes[u].poll();
        if (classes[u].isEmpty()) {
            waiting &= ~(1 << u);
        }
        return s;
    }

    /** The waiting class below the top after the one that got the last share, wrapping around. */
    private int nextShare(int below) {
        int after = lastShared + 1 >= CLASSES ? 0 : below & (-1 << (lastShared + 1));
        int u = Integer.numberOfTrailingZeros(after != 0 ? after : below);
        lastShared = u;
        return u;
    }

    /** Open streams per class, whether they wait or not. */
    private final int[] open = new int[CLASSES];
    /** Bit u set: class u has an open stream. */
    private int present;

    /** A stream of {@code urgency} opened. */
    void opened(int urgency) {
        if (open[urgency]++ == 0) {
            present |= 1 << urgency;
        }
    }

    /** A stream of {@code urgency} closed. */
    void closed(int urgency) {
        if (--open[urgency] == 0) {
            present &= ~(1 << urgency);
        }
    }

    /**
     * Whether a stream more urgent than {@code urgency} is open: its next bytes, whenever they come,
     * should not wait behind a large frame of this class.
     */
    boolean moreUrgentOpen(int urgency) {
        return (present & ((1 << urgency) - 1)) != 0;
    }

    /**
     * How long after the most urgent class ({@link StreamPriorities#MOST_URGENT}) last wrote it still
     * counts as active: the other classes keep the pipe shallow for it ({@link PipeDepth}) until it
     * has been quiet this long. Only class 0 counts: a bulk stream that is merely more urgent than
     * another (the RAM migration over a disk mirror) must not halve the other's throughput.
     */
    static final long ACTIVE_NANOS = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(10);
    /** {@link System#nanoTime()} of class 0's last frame; valid once {@link #mostUrgentServed}. */
    private long mostUrgentLastServed;
    private boolean mostUrgentServed;

    /** A frame of {@code urgency} was written at {@code now}. */
    void served(int urgency, long now) {
        if (urgency == StreamPriorities.MOST_URGENT) {
            mostUrgentLastServed = now;
            mostUrgentServed = true;
        }
    }

    /**
     * Whether {@code urgency} is less urgent than class 0 and class 0 wrote within
     * {@link #ACTIVE_NANOS} of {@code now}.
     */
    boolean yieldsToActiveUrgent(int urgency, long now) {
        return urgency > StreamPriorities.MOST_URGENT && mostUrgentServed && now - mostUrgentLastServed < ACTIVE_NANOS;
    }

    /** Whether a stream more urgent than {@code urgency} waits to be served. */
    boolean moreUrgentWaiting(int urgency) {
        return (waiting & ((1 << urgency) - 1)) != 0;
    }

    void remove(T s) {
        int u = s.urgency();
        classes[u].remove(s);
        if (classes[u].isEmpty()) {
            waiting &= ~(1 << u);
        }
    }

    void clear() {
        for (ArrayDeque<T> c : classes) {
            c.clear();
        }
        waiting = 0;
    }
}
