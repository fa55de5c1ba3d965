package io.migtunnel.qemu.migration;

import java.time.Duration;
import java.util.Objects;

/**
 * How a migration gets to the switch-over when the guest dirties RAM faster than the link moves it.
 *
 * @param downtimeLimit the longest pause at the switch-over QEMU aims for ({@code downtime-limit});
 *     null: QEMU's default (300 ms)
 * @param autoConverge throttle the guest's vCPUs while precopy does not converge ({@code auto-converge})
 * @param throttleInitial the first throttle, percent ({@code cpu-throttle-initial})
 * @param throttleIncrement how much each later step adds, percent ({@code cpu-throttle-increment})
 * @param postcopyAfterPrecopy start in precopy and switch to postcopy once the first full pass over
 *     RAM is done and precopy has not finished
 * @param timeout how long the RAM phase may run before {@code timeoutAction}; null: no limit but
 *     {@link MigrationOptions#migrationTimeout()}
 * @param timeoutAction what happens at the timeout
 * @param compression multifd compression
 * @param xbzrleCacheBytes the XBZRLE cache (delta-encodes pages sent again); 0: off
 */
public record ConvergenceOptions(Duration downtimeLimit, boolean autoConverge, int throttleInitial,
                                 int throttleIncrement, boolean postcopyAfterPrecopy, Duration timeout,
                                 TimeoutAction timeoutAction, Compression compression, long xbzrleCacheBytes) {

    /** What {@link #timeout()} does when it passes. */
    public enum TimeoutAction {
        /** Roll back, as a failure does. */
        ABORT,
        /** Switch to postcopy. */
        POSTCOPY,
        /** Pause the guest so that precopy finishes (libvirt's {@code --timeout-suspend}). */
        PAUSE
    }

    /** multifd compression ({@code multifd-compression}). */
    public enum Compression {
        NONE, ZLIB, ZSTD;

        /** QEMU's name for it. */
        public String qemuName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public ConvergenceOptions {
        Objects.requireNonNull(timeoutAction, "timeoutAction");
        Objects.requireNonNull(compression, "compression");
        if (downtimeLimit != null && (downtimeLimit.toMillis() < 1 || downtimeLimit.toMillis() > 2_000_000)) {
            throw new IllegalArgumentException("the downtime limit must be 1 ms to 2000 s, got " + downtimeLimit.toMillis()
                + " ms");
        }
        if (throttleInitial < 1 || throttleInitial > 99) {
            throw new IllegalArgumentException("the initial CPU throttle must be 1 to 99 %, got " + throttleInitial);
        }
        if (throttleIncrement < 1 || throttleIncrement > 99) {
            throw new IllegalArgumentException("the CPU throttle increment must be 1 to 99 %, got " + throttleIncrement);
        }
        if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
            throw new IllegalArgumentException("the timeout must be positive, got " + timeout);
        }
        if (timeout == null && timeoutAction != TimeoutAction.ABORT) {
            throw new IllegalArgumentException("a timeout action (" + timeoutAction + ") needs a timeout");
        }
        if (xbzrleCacheBytes < 0) {
            throw new IllegalArgumentException("the XBZRLE cache size must not be negative, got " + xbzrleCacheBytes);
        }
    }

    /** QEMU's defaults: no throttling, no postcopy switch, no timeout, no compression, no XBZRLE. */
    public static ConvergenceOptions defaults() {
        return new ConvergenceOptions(null, false, 20, 10, false, null, TimeoutAction.ABORT, Compression.NONE, 0);
    }

    public ConvergenceOptions withDowntimeLimit(Duration limit) {
        return new ConvergenceOptions(limit, autoConverge, throttleInitial, throttleIncrement, postcopyAfterPrecopy,
            timeout, timeoutAction, compression, xbzrleCacheBytes);
    }

    /** Auto-converge on, starting at {@code initial} % and adding {@code increment} % a step. */
    public ConvergenceOptions withAutoConverge(int initial, int increment) {
        return new ConvergenceOptions(downtimeLimit, true, initial, increment, postcopyAfterPrecopy, timeout,
            timeoutAction, compression, xbzrleCacheBytes);
    }

    public ConvergenceOptions withPostcopyAfterPrecopy(boolean on) {
        return new ConvergenceOptions(downtimeLimit, autoConverge, throttleInitial, throttleIncrement, on, timeout,
            timeoutAction, compression, xbzrleCacheBytes);
    }

    /** {@code action} once the RAM phase has run for {@code after}. */
    public ConvergenceOptions withTimeout(Duration after, TimeoutAction action) {
        return new ConvergenceOptions(downtimeLimit, autoConverge, throttleInitial, throttleIncrement,
            postcopyAfterPrecopy, after, action, compression, xbzrleCacheBytes);
    }

    public ConvergenceOptions withCompression(Compression method) {
        return new ConvergenceOptions(downtimeLimit, autoConverge, throttleInitial, throttleIncrement,
            postcopyAfterPrecopy, timeout, timeoutAction, method, xbzrleCacheBytes);
    }

    public ConvergenceOptions withXbzrleCache(long bytes) {
        return new ConvergenceOptions(downtimeLimit, autoConverge, throttleInitial, throttleIncrement,
            postcopyAfterPrecopy, timeout, timeoutAction, compression, bytes);
    }

    /** Whether the migration may switch to postcopy without having been asked to start in it. */
    public boolean maySwitchToPostcopy() {
        return postcopyAfterPrecopy || timeoutAction == TimeoutAction.POSTCOPY;
    }
}
