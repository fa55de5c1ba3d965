package io.migtunnel.qemu.migration.internal;

import static io.migtunnel.qemu.migration.internal.ConvergenceWatch.Action.ABORT;
import static io.migtunnel.qemu.migration.internal.ConvergenceWatch.Action.NONE;
import static io.migtunnel.qemu.migration.internal.ConvergenceWatch.Action.PAUSE;
import static io.migtunnel.qemu.migration.internal.ConvergenceWatch.Action.START_POSTCOPY;
import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.qemu.migration.ConvergenceOptions;
import io.migtunnel.qemu.migration.ConvergenceOptions.TimeoutAction;
import io.migtunnel.qemu.migration.MigrationOptions;
import io.migtunnel.qemu.migration.MigrationSummary.Convergence.Kind;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The rules that step in when precopy does not converge, reading by reading, and the summary's account of them. */
class ConvergenceWatchTest {
    private static final long S = 1_000_000_000L;

    private static ConvergenceWatch watch(ConvergenceOptions c) {
        return new ConvergenceWatch(MigrationOptions.defaults().withConvergence(c), 0);
    }

    @Test
    void postcopyAfterPrecopySwitchesOnceTheFirstPassIsDone() {
        ConvergenceWatch w = watch(ConvergenceOptions.defaults().withPostcopyAfterPrecopy(true));
        assertThat(w.next(1, 0, 5 * S)).as("first pass still running").isEqualTo(NONE);
        assertThat(w.postcopyRequested()).isFalse();
        assertThat(w.next(2, 0, 7 * S)).isEqualTo(START_POSTCOPY);
        assertThat(w.next(3, 0, 8 * S)).as("asked once").isEqualTo(NONE);
        assertThat(w.postcopyRequested()).isTrue();
        var outcome = w.outcome(true, 3);
        assertThat(outcome.kind()).isEqualTo(Kind.SWITCHED_TO_POSTCOPY);
        assertThat(outcome.after()).isEqualTo(Duration.ofSeconds(7));
        assertThat(outcome.describe()).isEqualTo("switched to postcopy after 7.0 s (3 passes)");
    }

    @Test
    void precopyThatConvergesBeforeTheSwitchIsReportedAsConverged() {
        ConvergenceWatch w = watch(ConvergenceOptions.defaults().withPostcopyAfterPrecopy(true));
        assertThat(w.next(1, 0, S)).isEqualTo(NONE);
        assertThat(w.outcome(false, 1).describe()).isEqualTo("converged in 1 pass");
    }

    @Test
    void timeoutActsOnceWithItsAction() {
        ConvergenceWatch abort = watch(ConvergenceOptions.defaults().withTimeout(Duration.ofSeconds(15), TimeoutAction.ABORT));
        assertThat(abort.next(5, 0, 14 * S)).isEqualTo(NONE);
        assertThat(abort.next(6, 0, 15 * S)).isEqualTo(ABORT);
        assertThat(abort.abortReason()).isEqualTo("precopy did not converge within 15 s (timeout, action abort)");

        ConvergenceWatch pause = watch(ConvergenceOptions.defaults().withTimeout(Duration.ofSeconds(3), TimeoutAction.PAUSE));
        assertThat(pause.next(2, 0, 4 * S)).isEqualTo(PAUSE);
        assertThat(pause.next(3, 0, 5 * S)).as("paused once").isEqualTo(NONE);
        assertThat(pause.outcome(false, 4).describe()).isEqualTo("paused after 4.0 s (4 passes)");

        ConvergenceWatch postcopy = watch(ConvergenceOptions.defaults().withTimeout(Duration.ofSeconds(3), TimeoutAction.POSTCOPY));
        assertThat(postcopy.next(9, 0, 2 * S)).as("many passes, no rule but the timeout").isEqualTo(NONE);
        assertThat(postcopy.next(9, 0, 3 * S)).isEqualTo(START_POSTCOPY);
        assertThat(postcopy.outcome(true, 10).kind()).isEqualTo(Kind.SWITCHED_TO_POSTCOPY);
    }

    @Test
    void aTimeoutSwitchAfterTheFirstPassRuleHasAlreadySwitchedDoesNothing() {
        ConvergenceWatch w = watch(ConvergenceOptions.defaults().withPostcopyAfterPrecopy(true)
            .withTimeout(Duration.ofSeconds(3), TimeoutAction.POSTCOPY));
        assertThat(w.next(2, 0, S)).isEqualTo(START_POSTCOPY);
        assertThat(w.next(3, 0, 4 * S)).isEqualTo(NONE);
        assertThat(w.outcome(true, 3).after()).isEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void theHighestThrottleSeenIsReported() {
        ConvergenceWatch w = watch(ConvergenceOptions.defaults().withAutoConverge(20, 10));
        w.next(3, 20, S);
        w.next(4, 40, 2 * S);
        w.next(5, 30, 3 * S);
        assertThat(w.outcome(false, 6).describe()).isEqualTo("converged in 6 passes, throttled to 40 %");
    }

    @Test
    void postcopyFromTheStartIsNeverAskedForAgain() {
        ConvergenceWatch w = new ConvergenceWatch(MigrationOptions.defaults().withPostcopy(true), 0);
        assertThat(w.postcopyRequested()).isTrue();
        assertThat(w.next(2, 0, S)).isEqualTo(NONE);
        assertThat(w.outcome(true, 1).describe()).isEqualTo("postcopy from the start (2 passes of precopy)");
    }
}
