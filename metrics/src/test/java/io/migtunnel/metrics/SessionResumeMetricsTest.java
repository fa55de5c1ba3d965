package io.migtunnel.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.mux.Session;
import io.migtunnel.mux.SessionClosedException;
import io.migtunnel.protocol.ErrorCode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The resumption meters and {@code /health} while sessions lose their connection and resume, fed events directly. */
class SessionResumeMetricsTest {
    private static final Instant T0 = Instant.parse("2026-12-02T14:23:15.759Z");

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final MicrometerSessionListener listener = new MicrometerSessionListener(registry);
    private final MovableClock clock = new MovableClock(T0);
    private final Session a = new DetachedSession();
    private final Session b = new DetachedSession();

    SessionResumeMetricsTest() {
        listener.useClock(clock);
    }

    @Test
    void resumesAreCountedByOutcomeAndBothOutcomesAreThereFromTheStart() {
        assertThat(registry.find("migtunnel.session.resumes").counters()).hasSize(2)
            .allSatisfy(c -> assertThat(c.count()).isZero());

        listener.onReady(a);
        listener.onDisconnected(a, "connection reset");
        listener.onResumed(a, Duration.ofMillis(1_500), 0);
        listener.onResumeRefused("bad proof");
        listener.onResumeRefused("no such session (it ended, or this side restarted)");

        assertThat(resumes("resumed")).isEqualTo(1);
        assertThat(resumes("refused")).isEqualTo(2);
        assertThat(registry.find("migtunnel.session.resumes").counters()).hasSize(2);
    }

    @Test
    void eachResumeRecordsItsOutageIncludingAZeroOne() {
        listener.onResumed(a, Duration.ofMillis(1_500), 0);
        listener.onResumed(b, Duration.ZERO, 0); // a side that had not noticed the loss

        assertThat(registry.get("migtunnel.session.outage").timer().count()).isEqualTo(2);
        assertThat(registry.get("migtunnel.session.outage").timer().totalTime(TimeUnit.MILLISECONDS)).isEqualTo(1_500);
        assertThat(registry.get("migtunnel.session.outage").timer().max(TimeUnit.MILLISECONDS)).isEqualTo(1_500);
    }

    @Test
    void retransmittedBytesAreSummedOverResumes() {
        listener.onResumed(a, Duration.ofMillis(10), 1_000);
        listener.onResumed(a, Duration.ofMillis(10), 24);
        listener.onResumed(b, Duration.ofMillis(10), 0);

        assertThat(registry.get("migtunnel.session.retransmitted.bytes").counter().count()).isEqualTo(1_024);
        assertThat(registry.get("migtunnel.session.retransmitted.bytes").counter().getId().getBaseUnit())
            .isEqualTo("bytes");
    }

    @Test
    void connectionsCountEachReadySessionAndEachResumeButNotRefusalsOrCloses() {
        listener.onReady(a);
        listener.onReady(b);
        assertThat(connections()).isEqualTo(2);

        listener.onDisconnected(a, "connection reset");
        assertThat(connections()).isEqualTo(2);
        listener.onResumed(a, Duration.ofSeconds(1), 0);
        listener.onResumeRefused("bad proof");
        listener.onResumed(b, Duration.ZERO, 0);
        listener.onClosed(a, null);

        assertThat(connections()).isEqualTo(4);
    }

    @Test
    void theDisconnectedGaugeFollowsDisconnectsResumesAndCloses() {
        listener.onReady(a);
        listener.onReady(b);
        assertThat(disconnected()).isZero();

        listener.onDisconnected(a, "connection reset");
        listener.onDisconnected(b, "keepalive timeout");
        listener.onDisconnected(b, "again");
        assertThat(disconnected()).isEqualTo(2);
        assertThat(registry.get("migtunnel.sessions.active").gauge().value()).as("disconnected sessions stay active")
            .isEqualTo(2);

        listener.onResumed(a, Duration.ofSeconds(1), 0);
        assertThat(disconnected()).isEqualTo(1);
        listener.onClosed(b, new SessionClosedException(ErrorCode.CANCELLED, "resume grace period over"));
        assertThat(disconnected()).isZero();

        listener.onResumed(a, Duration.ZERO, 0); // resumed before this side noticed: never disconnected here
        assertThat(disconnected()).isZero();
        assertThat(registry.get("migtunnel.sessions.active").gauge().value()).isEqualTo(1);
    }

    @Test
    void healthIsDownWhileTheOnlySessionReconnectsAndUpOnceItResumes() {
        listener.onReady(a);
        assertThat(listener.health()).isEqualTo(new TunnelHealth(true, "ok: 1 session(s) up"));

        listener.onDisconnected(a, "connection reset\nby peer");
        clock.advance(Duration.ofSeconds(7));
        assertThat(listener.health()).isEqualTo(new TunnelHealth(false,
            "reconnecting since 2026-12-02T14:23:15Z (connection lost: connection reset by peer)"));

        listener.onResumed(a, Duration.ofSeconds(7), 512);
        assertThat(listener.health()).isEqualTo(new TunnelHealth(true, "ok: 1 session(s) up"));
    }

    @Test
    void healthStaysUpWhileAnySessionIsConnectedAndReportsTheEarliestOutage() {
        listener.onReady(a);
        listener.onReady(b);
        listener.onDisconnected(a, "connection reset");
        assertThat(listener.health()).isEqualTo(new TunnelHealth(true, "ok: 1 session(s) up, 1 reconnecting"));

        clock.advance(Duration.ofSeconds(30));
        listener.onDisconnected(b, "keepalive timeout");
        assertThat(listener.health()).isEqualTo(new TunnelHealth(false,
            "reconnecting since 2026-12-02T14:23:15Z (connection lost: connection reset)"));
        clock.advance(Duration.ofSeconds(5));
        listener.onDisconnected(a, "reported twice");
        assertThat(listener.health()).as("a disconnect keeps its first time and cause until it ends")
            .isEqualTo(new TunnelHealth(false,
                "reconnecting since 2026-12-02T14:23:15Z (connection lost: connection reset)"));

        listener.onResumed(a, Duration.ofSeconds(30), 0);
        assertThat(listener.health()).isEqualTo(new TunnelHealth(true, "ok: 1 session(s) up, 1 reconnecting"));

        clock.advance(Duration.ofSeconds(30));
        listener.onDisconnected(a, "connection reset again");
        assertThat(listener.health()).as("b has been disconnected longer than a")
            .isEqualTo(new TunnelHealth(false,
                "reconnecting since 2026-12-02T14:23:45Z (connection lost: keepalive timeout)"));
    }

    @Test
    void aSessionClosedWhileDisconnectedIsNoLongerReconnecting() {
        listener.onReady(a);
        listener.onDisconnected(a, "connection reset");
        assertThat(listener.health().message()).startsWith("reconnecting since ");

        clock.advance(Duration.ofSeconds(120));
        listener.onClosed(a, new SessionClosedException(ErrorCode.CANCELLED, "resume grace period over"));

        assertThat(listener.health()).isEqualTo(new TunnelHealth(false, "no tunnel session is up since "
            + "2026-12-02T14:25:15Z (last one closed: CANCELLED: resume grace period over)"));
        assertThat(disconnected()).isZero();
        assertThat(registry.get("migtunnel.sessions.active").gauge().value()).isZero();
    }

    @Test
    void prometheusRendersTheResumeMetersAndTheOutageHistogramInSeconds() {
        PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        MicrometerSessionListener metrics = new MicrometerSessionListener(prometheus);
        metrics.onReady(a);
        metrics.onDisconnected(a, "connection reset");
        metrics.onReady(b);
        metrics.onDisconnected(b, "connection reset");
        metrics.onResumed(a, Duration.ofMillis(1_500), 4_096);
        metrics.onResumed(b, Duration.ofMillis(200), 0);
        metrics.onResumeRefused("bad proof");
        metrics.onDisconnected(b, "connection reset");

        String text = prometheus.scrape();
        prometheus.close();

        assertThat(text).contains("# TYPE migtunnel_session_resumes_total counter",
            "# TYPE migtunnel_session_outage_seconds histogram",
            "# TYPE migtunnel_session_retransmitted_bytes_total counter",
            "# TYPE migtunnel_session_connections_total counter",
            "# TYPE migtunnel_sessions_disconnected gauge");
        assertThat(Scraper.sample(text, "migtunnel_session_resumes_total", Map.of("outcome", "resumed"))).isEqualTo(2);
        assertThat(Scraper.sample(text, "migtunnel_session_resumes_total", Map.of("outcome", "refused"))).isEqualTo(1);
        assertThat(Scraper.sample(text, "migtunnel_session_retransmitted_bytes_total", Map.of())).isEqualTo(4_096);
        assertThat(Scraper.sample(text, "migtunnel_session_connections_total", Map.of())).isEqualTo(4);
        assertThat(Scraper.sample(text, "migtunnel_sessions_disconnected", Map.of())).isEqualTo(1);
        assertThat(Scraper.sample(text, "migtunnel_session_outage_seconds_count", Map.of())).isEqualTo(2);
        assertThat(Scraper.sample(text, "migtunnel_session_outage_seconds_sum", Map.of())).isEqualTo(1.7);
        assertThat(bucketAtOrBelow(text, "migtunnel_session_outage_seconds_bucket", 1.0))
            .as("outages of at most (about) 1 s: the 200 ms one only").isEqualTo(1);
        assertThat(Scraper.sample(text, "migtunnel_session_outage_seconds_bucket", Map.of("le", "+Inf"))).isEqualTo(2);
        assertThat(largestFiniteBucket(text, "migtunnel_session_outage_seconds_bucket"))
            .as("outages as long as a resume grace period (CLI default 120 s) still fall in a finite bucket")
            .isGreaterThanOrEqualTo(120);
    }

    /** The upper bound of the largest finite bucket of histogram sample {@code name}. */
    private static double largestFiniteBucket(String exposition, String name) {
        double largest = Double.NaN;
        for (double[] bucket : finiteBuckets(exposition, name)) {
            largest = Double.isNaN(largest) ? bucket[0] : Math.max(largest, bucket[0]);
        }
        return largest;
    }

    /** The cumulative count of the largest finite bucket whose upper bound is at most {@code bound}. */
    private static double bucketAtOrBelow(String exposition, String name, double bound) {
        double le = Double.NEGATIVE_INFINITY;
        double count = Double.NaN;
        for (double[] bucket : finiteBuckets(exposition, name)) {
            if (bucket[0] <= bound && bucket[0] > le) {
                le = bucket[0];
                count = bucket[1];
            }
        }
        return count;
    }

    /** Each finite bucket of histogram sample {@code name} (no other labels) as {upper bound, count}. */
    private static List<double[]> finiteBuckets(String exposition, String name) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "\\{le=\"([0-9.eE+-]+)\"} (\\S+)$")
            .matcher(exposition);
        List<double[]> buckets = new ArrayList<>();
        while (m.find()) {
            buckets.add(new double[] {Double.parseDouble(m.group(1)), Double.parseDouble(m.group(2))});
        }
        return buckets;
    }

    private double resumes(String outcome) {
        return registry.get("migtunnel.session.resumes").tag("outcome", outcome).counter().count();
    }

    private double connections() {
        return registry.get("migtunnel.session.connections").counter().count();
    }

    private double disconnected() {
        return registry.get("migtunnel.sessions.disconnected").gauge().value();
    }

    /** A clock that stands still until a test moves it. */
    private static final class MovableClock extends Clock {
        private Instant now;

        MovableClock(Instant start) {
            now = start;
        }

        void advance(Duration by) {
            now = now.plus(by);
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            throw new UnsupportedOperationException("a test clock has one zone");
        }
    }
}
