package io.migtunnel.qemu.migration.internal;

import java.time.Duration;
import java.util.function.Supplier;

/**
 * The one way the migration waits for QEMU: ask, and until the answer is final, wait for a
 * {@link Wakeups wake-up} or the poll interval, never past a {@link Deadline}. A loop written with
 * it cannot wait without a bound, and an event that arrives while QEMU is being asked ends the
 * next wait at once.
 */
final class Poll {
    private final Wakeups wakeups;
    private final Duration interval;
    private final Runnable checkAbort;

    /** Polls every {@code interval} or on a wake-up; {@code checkAbort} throws to end a poll early. */
    Poll(Wakeups wakeups, Duration interval, Runnable checkAbort) {
        this.wakeups = wakeups;
        this.interval = interval;
        this.checkAbort = checkAbort;
    }

    /** {@code probe}'s first non-null answer; a {@link StepFailure} with {@code timedOut}'s text once {@code deadline} passes. */
    <T> T until(Deadline deadline, Supplier<T> probe, Supplier<String> timedOut) {
        T answer = within(deadline, probe);
        if (answer == null) {
            throw new StepFailure(timedOut.get());
        }
        return answer;
    }

    /** {@code probe}'s first non-null answer, or null once {@code deadline} has passed. */
    <T> T within(Deadline deadline, Supplier<T> probe) {
        while (true) {
            long seen = wakeups.count(); // before asking: an event during the question ends the wait below
            T answer = probe.get();
            if (answer != null) {
                return answer;
            }
            if (deadline.passed()) {
                return null;
            }
            checkAbort.run();
            try {
                wakeups.awaitAfter(seen, deadline.cap(interval));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new StepFailure("interrupted");
            }
            checkAbort.run();
            if (deadline.passed()) {
                return null;
            }
        }
    }
}
