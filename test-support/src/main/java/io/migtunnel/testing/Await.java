package io.migtunnel.testing;

import java.time.Duration;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * Waits for a condition, polling it until it holds or a deadline passes: the one way tests wait
 * for something that has no signal to subscribe to. A timeout fails with an {@link AssertionError}
 * that names what was awaited and the value last observed; an exception thrown by the probe ends
 * the wait at once (a probe throws to say "this will never happen").
 */
public final class Await {
    private static final long POLL_MILLIS = 10;

    /** Reads the observed state; may throw, which ends the wait. */
    @FunctionalInterface
    public interface Probe<T> {
        T get() throws Exception;
    }

    /** A condition without a value worth reporting. */
    @FunctionalInterface
    public interface Condition {
        boolean met() throws Exception;
    }

    private Await() {
    }

    /**
     * Polls {@code probe} until {@code done} accepts what it returned, and returns that value;
     * fails once {@code timeout} has passed, naming {@code what} and the last value.
     */
    public static <T> T until(String what, Duration timeout, Probe<T> probe, Predicate<? super T> done)
        throws Exception {
        Objects.requireNonNull(done, "done");
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            T value = probe.get();
            if (done.test(value)) {
                return value;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + timeout + " waiting for " + what
                    + "; last observed: " + value);
            }
            Thread.sleep(POLL_MILLIS); // the polling interval of a condition wait
        }
    }

    /** Polls {@code condition} until it is met; fails once {@code timeout} has passed, naming {@code what}. */
    public static void until(String what, Duration timeout, Condition condition) throws Exception {
        until(what, timeout, condition::met, Boolean::booleanValue);
    }
}
