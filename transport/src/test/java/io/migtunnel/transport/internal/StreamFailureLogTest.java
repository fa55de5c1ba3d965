package io.migtunnel.transport.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.mux.SessionClosedException;
import io.migtunnel.mux.StreamResetException;
import io.migtunnel.protocol.ErrorCode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link StreamFailureLog} with a hand-moved clock: bounded lines, exact counts, bounded kinds. */
class StreamFailureLogTest {
    private static final Duration WINDOW = Duration.ofSeconds(10);
    private static final StreamResetException REFUSED =
        new StreamResetException(ErrorCode.REFUSED.code(), "too many streams: limit 64", false);

    private final List<String> lines = new ArrayList<>();
    private long now = 1_000_000_000L;
    private final StreamFailureLog log = new StreamFailureLog("session with /10.0.0.2:40312", WINDOW, 10,
        () -> now, lines::add);

    @Test
    void aFloodOf100000FailuresIsTenLinesANoticeAndOneSummaryWithTheExactCount() {
        for (int i = 0; i < 100_000; i++) {
            log.failed("stream " + (2 * i + 1) + " 'echo'", REFUSED);
            now += 10_000; // 100,000 failures in 1 s
        }
        log.flush();

        assertThat(lines).hasSize(12);
        assertThat(lines.subList(0, 10)).allMatch(l -> l.endsWith("ended: reset: REFUSED: too many streams: limit 64"));
        assertThat(lines.get(0)).isEqualTo("stream 1 'echo' ended: reset: REFUSED: too many streams: limit 64");
        assertThat(lines.get(10)).isEqualTo("session with /10.0.0.2:40312: more streams failing with reset: REFUSED;"
            + " counting them, not logging each, for 10 s");
        assertThat(lines.get(11)).isEqualTo("session with /10.0.0.2:40312: ... and 99,990 more streams failed the same"
            + " way (reset: REFUSED) within 1 s; last: stream 199999 'echo': reset: REFUSED: too many streams: limit 64");
    }

    @Test
    void eachWindowHasItsOwnBudgetAndItsSummaryComesAtTheNextEventAfterIt() {
        for (int i = 0; i < 25; i++) {
            log.failed("stream " + i, REFUSED);
        }
        assertThat(lines).hasSize(11); // 10 lines and the notice; 15 counted
        now += WINDOW.toNanos() - 1;
        log.tick();
        assertThat(lines).as("window not over yet").hasSize(11);
        now += 1;
        log.tick();
        assertThat(lines).hasSize(12);
        assertThat(lines.get(11)).contains("... and 15 more streams failed the same way (reset: REFUSED) within 10 s;"
            + " last: stream 24: ");

        for (int i = 0; i < 3; i++) {
            log.failed("stream " + (100 + i), REFUSED);
        }
        log.flush();
        assertThat(lines).as("a new window logs again, and has nothing to summarise").hasSize(15);
        assertThat(lines.get(14)).startsWith("stream 102 ended: ");
    }

    @Test
    void aFailureAfterTheWindowFirstSummarisesTheOldWindow() {
        for (int i = 0; i < 12; i++) {
            log.failed("stream " + i, REFUSED);
        }
        now += WINDOW.toNanos() * 3;
        log.failed("stream 99", REFUSED);
        assertThat(lines).hasSize(13);
        assertThat(lines.get(11)).contains("... and 2 more streams failed");
        assertThat(lines.get(12)).startsWith("stream 99 ended: ");
    }

    @Test
    void kindsAreCountedApartAndTheSummaryAtCloseGivesTheShorterSpan() {
        SessionClosedException closed = new SessionClosedException(ErrorCode.INTERNAL_ERROR, "connection closed by peer");
        StreamResetException byPeer = new StreamResetException(ErrorCode.CANCELLED.code(), "bye", true);
        for (int i = 0; i < 30; i++) {
            log.failed("stream " + i, REFUSED);
            log.failed("stream " + i, byPeer);
        }
        log.failed("stream 1000", closed);
        now += Duration.ofMillis(3_200).toNanos();
        log.flush();

        assertThat(lines.stream().filter(l -> l.contains(" ended: reset: REFUSED"))).hasSize(10);
        assertThat(lines.stream().filter(l -> l.contains(" ended: reset by peer: CANCELLED"))).hasSize(10);
        assertThat(lines).contains("stream 1000 ended: " + closed.getMessage());
        assertThat(lines).anyMatch(l -> l.contains("... and 20 more streams failed the same way (reset: REFUSED) within 3.2 s"));
        assertThat(lines).anyMatch(l -> l.contains("... and 20 more streams failed the same way (reset by peer: CANCELLED)"));
        assertThat(lines).hasSize(10 + 10 + 1 + 2 + 2);
    }

    @Test
    void aPeerChoosingManyResetCodesGetsAtMostMaxKindsPlusOneBudgets() {
        for (int code = 0; code < 100_000; code++) {
            log.failed("stream " + code, new StreamResetException(1000 + code, "code " + code, true));
        }
        log.flush();

        int kinds = StreamFailureLog.MAX_KINDS + 1;
        // per kind: at most 10 lines, one notice, one summary
        assertThat(lines.size()).isLessThanOrEqualTo(kinds * 12);
        assertThat(lines).anyMatch(l -> l.contains("... and 99,982 more streams failed the same way ("
            + StreamFailureLog.OTHER + ")"));
        long counted = lines.stream().filter(l -> l.contains(" ended: ")).count() + 99_982;
        assertThat(counted).isEqualTo(100_000);
    }

    @Test
    void aLongPeerMessageIsShortened() {
        String huge = "x".repeat(1 << 20);
        log.failed("stream 1", new StreamResetException(ErrorCode.CANCELLED.code(), huge, true));
        assertThat(lines.get(0).length()).isLessThan(StreamFailureLog.MAX_MESSAGE + 40);
    }
}
