package io.migtunnel.mux.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayDeque;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LongQueueTest {
    @Test
    void keepsFifoOrderAcrossWrapAroundAndGrowth() {
        LongQueue times = new LongQueue();
        ArrayDeque<Long> expected = new ArrayDeque<>();
        Random random = new Random(5);
        long next = 0;
        for (int step = 0; step < 10_000; step++) {
            if (expected.isEmpty() || random.nextInt(3) != 0) { // grows on average, wrapping as it goes
                times.add(next);
                expected.add(next++);
            } else {
                assertThat(times.peek()).isEqualTo(expected.poll());
                times.poll();
            }
            assertThat(times.size()).isEqualTo(expected.size());
        }
        while (!expected.isEmpty()) {
            assertThat(times.peek()).isEqualTo(expected.poll());
            times.poll();
        }
        assertThatThrownBy(times::peek).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void clearEmptiesIt() {
        LongQueue times = new LongQueue();
        for (int i = 0; i < 20; i++) {
            times.add(i);
        }
        times.clear();
        assertThat(times.size()).isZero();
        times.add(99);
        assertThat(times.peek()).isEqualTo(99);
    }
}
