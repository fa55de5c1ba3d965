package io.migtunnel.mux.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The writer's choice of the next stream: the most urgent first, round-robin within an urgency,
 * and every waiting less urgent class still gets its share.
 */
class WriteSchedulerTest {
    private record Stream(String name, int urgency) implements WriteScheduler.Scheduled {
    }

    private final WriteScheduler<Stream> scheduler = new WriteScheduler<>();

    /**
     * Serves {@code turns} frames as the session does: each stream served goes back to the end of
     * its class while it has more to write (all of them always have, here).
     */
    private List<String> serve(int turns) {
        List<String> served = new ArrayList<>();
        for (int i = 0; i < turns; i++) {
            Stream s = scheduler.poll();
            if (s == null) {
                break;
            }
            served.add(s.name());
            scheduler.add(s);
        }
        return served;
    }

    @Test
    void anUrgentStreamOvertakesBulkStreamsAlreadyQueued() {
        scheduler.add(new Stream("nbd/disk0", 5));
        scheduler.add(new Stream("nbd/disk1", 5));
        scheduler.add(new Stream("control", 0));
        assertThat(scheduler.poll().name()).isEqualTo("control");
        assertThat(scheduler.poll().name()).isEqualTo("nbd/disk0");
    }

    @Test
    void streamsOfOneUrgencyTakeTurns() {
        scheduler.add(new Stream("a", 3));
        scheduler.add(new Stream("b", 3));
        scheduler.add(new Stream("c", 3));
        assertThat(serve(7)).containsExactly("a", "b", "c", "a", "b", "c", "a");
    }

    @Test
    void aLessUrgentClassProgressesUnderASaturatingUrgentStream() {
        scheduler.add(new Stream("urgent", 0));
        scheduler.add(new Stream("bulk", 5));
        List<String> served = serve(90);
        long bulk = served.stream().filter("bulk"::equals).count();
        assertThat(bulk).as("one frame in %d for the waiting class", WriteScheduler.SHARE_EVERY + 1)
            .isEqualTo(90 / (WriteScheduler.SHARE_EVERY + 1));
        assertThat(served.subList(0, WriteScheduler.SHARE_EVERY)).containsOnly("urgent");
    }

    @Test
    void theSharesGoToEveryWaitingClassInTurn() {
        scheduler.add(new Stream("urgent", 0));
        scheduler.add(new Stream("migration", 1));
        scheduler.add(new Stream("bulk", 5));
        Map<String, Integer> counts = new HashMap<>();
        serve(900).forEach(n -> counts.merge(n, 1, Integer::sum));
        assertThat(counts.get("migration")).isEqualTo(counts.get("bulk")).isEqualTo(50);
        assertThat(counts.get("urgent")).isEqualTo(800);
    }

    @Test
    void withoutAMoreUrgentClassALessUrgentOneHasTheConnection() {
        scheduler.add(new Stream("bulk", 5));
        assertThat(serve(20)).containsOnly("bulk").hasSize(20);
        assertThat(scheduler.moreUrgentWaiting(5)).isFalse();
        scheduler.add(new Stream("control", 0));
        assertThat(scheduler.moreUrgentWaiting(5)).isTrue();
        assertThat(scheduler.moreUrgentWaiting(0)).isFalse();
    }

    @Test
    void aRemovedStreamIsNotServed() {
        Stream a = new Stream("a", 2);
        scheduler.add(a);
        scheduler.add(new Stream("b", 2));
        scheduler.remove(a);
        assertThat(serve(3)).containsOnly("b");
        scheduler.clear();
        assertThat(scheduler.poll()).isNull();
    }
}
