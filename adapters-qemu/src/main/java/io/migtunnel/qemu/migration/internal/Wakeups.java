package io.migtunnel.qemu.migration.internal;

import java.time.Duration;

/**
 * Counts QMP events that should end a poll's wait early (a MIGRATION or block job event, an
 * abort). A poller notes {@link #count()} before it asks QEMU and then waits for a signal after
 * that count, so an event that lands between the question and the wait is never lost.
 */
final class Wakeups {
    private long count;

    /** An event happened: wake every waiter. */
    synchronized void signal() {
        count++;
        notifyAll();
    }

    /** The number of signals so far. */
    synchronized long count() {
        return count;
    }

    /** Waits until the count exceeds {@code seen} or {@code max} passes; true when signalled. */
    synchronized boolean awaitAfter(long seen, Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (count == seen) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            wait(Math.max(1, left / 1_000_000));
        }
        return true;
    }
}
