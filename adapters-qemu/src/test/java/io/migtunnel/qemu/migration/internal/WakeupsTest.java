package io.migtunnel.qemu.migration.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A poll notes the count before it asks QEMU, so an event that lands meanwhile is not lost. */
@Timeout(30)
class WakeupsTest {
    private final Wakeups wakeups = new Wakeups();

    @Test
    void anEventBetweenThePollAndTheWaitEndsTheWaitAtOnce() throws Exception {
        long seen = wakeups.count(); // before the QMP poll
        wakeups.signal();            // the event arrives while the poll is in flight
        assertThat(wakeups.awaitAfter(seen, Duration.ofSeconds(5))).as("woken by the event, not by the bound").isTrue();
    }

    @Test
    void withoutAnEventTheWaitEndsAtItsBound() throws Exception {
        assertThat(wakeups.awaitAfter(wakeups.count(), Duration.ofMillis(20))).isFalse();
    }

    @Test
    void anEventFromAnotherThreadEndsTheWait() throws Exception {
        long seen = wakeups.count();
        Thread t = new Thread(wakeups::signal);
        t.start();
        assertThat(wakeups.awaitAfter(seen, Duration.ofSeconds(20))).isTrue();
        t.join(Duration.ofSeconds(5).toMillis());
    }

    @Test
    void eventsSeenBeforeDoNotEndALaterWait() throws Exception {
        wakeups.signal();
        assertThat(wakeups.awaitAfter(wakeups.count(), Duration.ofMillis(20))).isFalse();
    }
}
