package io.migtunnel.qemu.migration.internal;

import io.migtunnel.qemu.migration.ConvergenceOptions;
import io.migtunnel.qemu.migration.ConvergenceOptions.TimeoutAction;
import io.migtunnel.qemu.migration.MigrationOptions;
import io.migtunnel.qemu.migration.MigrationSummary;
import java.time.Duration;

/**
 * Decides, reading by reading of precopy, whether to step in: switch to postcopy once the first
 * full pass is done ({@code postcopyAfterPrecopy}), or at the timeout abort, switch or pause. It
 * remembers what it did and the highest throttle seen, for the summary's account of how the
 * migration converged.
 *
 * <p>The postcopy rule is "after the first full pass" (QEMU's {@code dirty-sync-count} reaching 2),
 * as libvirt's {@code --postcopy-after-precopy} does: by then every page has been sent once, and
 * any further precopy pass resends only what the guest dirtied, which postcopy would send at most
 * once. Waiting for the remaining bytes to stop shrinking would take at least two more passes, each
 * as long as the dirtied RAM takes at the link's speed, to learn what one pass already shows.
 */
final class ConvergenceWatch {
    /** What the migration must do now. */
    enum Action { NONE, START_POSTCOPY, PAUSE, ABORT }

    private final MigrationOptions options;
    private final ConvergenceOptions convergence;
    private final long startedNanos;
    private boolean postcopyRequested;
    private boolean timedOut;
    private Duration postcopyAfter;
    private Duration pausedAfter;
    private int passes;
    private int maxThrottle;

    /** Watches a RAM phase that started at {@code startedNanos} ({@link System#nanoTime()}). */
    ConvergenceWatch(MigrationOptions options, long startedNanos) {
        this.options = options;
        this.convergence = options.convergence();
        this.startedNanos = startedNanos;
        this.postcopyRequested = options.postcopy();
    }

    /** A reading of precopy at {@code nowNanos}: {@code passes} is QEMU's dirty-sync-count, {@code throttle} its throttle, percent. */
    Action next(int passes, int throttle, long nowNanos) {
        this.passes = Math.max(this.passes, passes);
        maxThrottle = Math.max(maxThrottle, throttle);
        Duration elapsed = Duration.ofNanos(nowNanos - startedNanos);
        if (convergence.postcopyAfterPrecopy() && !postcopyRequested && passes >= 2) {
            return switchToPostcopy(elapsed);
        }
        if (convergence.timeout() == null || timedOut || elapsed.compareTo(convergence.timeout()) < 0) {
            return Action.NONE;
        }
        timedOut = true;
        TimeoutAction action = convergence.timeoutAction();
        if (action == TimeoutAction.ABORT) {
            return Action.ABORT;
        }
        if (action == TimeoutAction.POSTCOPY) {
            return postcopyRequested ? Action.NONE : switchToPostcopy(elapsed);
        }
        pausedAfter = elapsed;
        return Action.PAUSE;
    }

    private Action switchToPostcopy(Duration elapsed) {
        postcopyRequested = true;
        postcopyAfter = elapsed;
        return Action.START_POSTCOPY;
    }

    /** Whether postcopy was asked for, at the start or since. */
    boolean postcopyRequested() {
        return postcopyRequested;
    }

    /** The text of the failure an {@link Action#ABORT} becomes. */
    String abortReason() {
        return "precopy did not converge within " + convergence.timeout().toSeconds() + " s (timeout, action abort)";
    }

    /** How it went, once the migration completed; {@code postcopyRan}: QEMU reported postcopy-active. */
    MigrationSummary.Convergence outcome(boolean postcopyRan, int finalPasses) {
        int total = Math.max(passes, finalPasses);
        if (postcopyRan) {
            return options.postcopy()
                ? new MigrationSummary.Convergence(MigrationSummary.Convergence.Kind.POSTCOPY, total, maxThrottle, Duration.ZERO)
                : new MigrationSummary.Convergence(MigrationSummary.Convergence.Kind.SWITCHED_TO_POSTCOPY, total,
                    maxThrottle, postcopyAfter != null ? postcopyAfter : Duration.ZERO);
        }
        if (pausedAfter != null) {
            return new MigrationSummary.Convergence(MigrationSummary.Convergence.Kind.PAUSED, total, maxThrottle, pausedAfter);
        }
        return new MigrationSummary.Convergence(maxThrottle > 0 ? MigrationSummary.Convergence.Kind.THROTTLED
            : MigrationSummary.Convergence.Kind.CONVERGED, total, maxThrottle, Duration.ZERO);
    }
}
