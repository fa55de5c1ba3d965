package io.migtunnel.qemu.migration.internal;

import java.time.Duration;

/**
 * A point in time that a wait must not pass, with the budget it was set from (for messages).
 *
 * @param atNanos {@link System#nanoTime()} at the deadline
 * @param budget how long it was set for
 */
record Deadline(long atNanos, Duration budget) {

    /** {@code budget} from now. */
    static Deadline after(Duration budget) {
        return new Deadline(System.nanoTime() + budget.toNanos(), budget);
    }

    /** Time left, zero once passed. */
    Duration remaining() {
        return Duration.ofNanos(Math.max(0, atNanos - System.nanoTime()));
    }

    boolean passed() {
        return System.nanoTime() - atNanos >= 0;
    }

    /** The shorter of {@code limit} and the time left. */
    Duration cap(Duration limit) {
        Duration left = remaining();
        return left.compareTo(limit) < 0 ? left : limit;
    }
}
