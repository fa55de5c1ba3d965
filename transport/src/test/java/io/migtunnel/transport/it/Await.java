package io.migtunnel.transport.it;

import java.time.Duration;
import java.util.Optional;

/** Polls a condition until it holds or a deadline passes; the only way these tests wait. */
final class Await {

    private static final long POLL_MILLIS = 20;

    @FunctionalInterface
    interface Condition {
        boolean met() throws Exception;
    }

    @FunctionalInterface
    interface Probe<T> {
        Optional<T> get() throws Exception;
    }

    private Await() {}

    /** Waits until {@code condition} is met; fails with {@code what} once {@code timeout} passes. */
    static void until(String what, Duration timeout, Condition condition) throws Exception {
        value(what, timeout, () -> condition.met() ? Optional.of(Boolean.TRUE) : Optional.empty());
    }

    /** Waits until {@code probe} yields a value and returns it; fails once {@code timeout} passes. */
    static <T> T value(String what, Duration timeout, Probe<T> probe) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Optional<T> v = probe.get();
            if (v.isPresent()) {
                return v.get();
            }
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("Timed out after " + timeout + " waiting for " + what);
            }
            Thread.sleep(POLL_MILLIS);
        }
    }
}
