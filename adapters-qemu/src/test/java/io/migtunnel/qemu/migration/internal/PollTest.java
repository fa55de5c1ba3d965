package io.migtunnel.qemu.migration.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Polls that end on an answer, a deadline or an abort, and look again at once after an event. */
@Timeout(30)
class PollTest {
    private final Wakeups wakeups = new Wakeups();
    private final Poll hourly = new Poll(wakeups, Duration.ofHours(1), () -> { });

    @Test
    void anEventDuringTheQuestionMakesThePollAskAgainAtOnce() {
        AtomicInteger asked = new AtomicInteger();
        // The first answer is "not yet", and an event lands while it is being given: with an hourly
        // interval, only the event can make the poll ask a second time within the test's timeout.
        String answer = hourly.until(Deadline.after(Duration.ofHours(1)), () -> {
            if (asked.incrementAndGet() == 1) {
                wakeups.signal();
                return null;
            }
            return "done";
        }, () -> "never");
        assertThat(answer).isEqualTo("done");
        assertThat(asked).hasValue(2);
    }

    @Test
    void aPassedDeadlineEndsThePollWithItsMessage() {
        assertThatThrownBy(() -> hourly.until(Deadline.after(Duration.ofMillis(20)), () -> null, () -> "too slow"))
            .isInstanceOf(StepFailure.class).hasMessage("too slow");
        String none = hourly.within(Deadline.after(Duration.ZERO), () -> null);
        assertThat(none).isNull();
    }

    @Test
    void anAbortEndsThePoll() {
        Poll aborting = new Poll(wakeups, Duration.ofHours(1), () -> {
            throw new Abortable.AbortedException("stop");
        });
        assertThatThrownBy(() -> aborting.until(Deadline.after(Duration.ofHours(1)), () -> null, () -> "never"))
            .isInstanceOf(Abortable.AbortedException.class).hasMessage("stop");
    }
}
