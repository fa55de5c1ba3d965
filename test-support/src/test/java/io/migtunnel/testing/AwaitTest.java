package io.migtunnel.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class AwaitTest {

    @Test
    void returnsTheFirstValueThatIsDone() throws Exception {
        AtomicInteger polls = new AtomicInteger();
        int value = Await.until("three polls", Duration.ofSeconds(10), polls::incrementAndGet, n -> n >= 3);
        assertThat(value).isEqualTo(3);
        assertThat(polls).hasValue(3);
    }

    @Test
    void aTimeoutNamesWhatWasAwaitedAndTheLastValue() {
        AtomicInteger polls = new AtomicInteger();
        assertThatThrownBy(() -> Await.until("the counter to go negative", Duration.ofMillis(50),
            polls::incrementAndGet, n -> n < 0))
            .isInstanceOf(AssertionError.class)
            .hasMessageStartingWith("timed out after PT0.05S waiting for the counter to go negative; last observed: ")
            .hasMessageEndingWith(": " + polls.get());
        assertThat(polls.get()).as("polled more than once").isGreaterThan(1);
    }

    @Test
    void aConditionThatIsNeverMetTimesOut() {
        assertThatThrownBy(() -> Await.until("never", Duration.ofMillis(30), () -> false))
            .isInstanceOf(AssertionError.class)
            .hasMessageContaining("waiting for never; last observed: false");
    }

    @Test
    void aProbeThatThrowsEndsTheWaitAtOnce() {
        long start = System.nanoTime();
        assertThatThrownBy(() -> Await.until("a dead process", Duration.ofSeconds(30), () -> {
            throw new IOException("it exited");
        })).isInstanceOf(IOException.class).hasMessage("it exited");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
    }
}
