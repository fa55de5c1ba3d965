package io.migtunnel.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.transport.Tunnel;
import io.migtunnel.transport.TunnelDestination;
import io.migtunnel.transport.TunnelSource;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code /health} follows the session: 200 while it is up, 503 once the peer is gone. */
class HealthEndpointTest {
    private static final Duration DEADLINE = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    private Metered destinationMetrics;
    private Metered sourceMetrics;
    private Tunnel destination;
    private Tunnel source;

    @BeforeEach
    void startDestination() {
        destinationMetrics = new Metered();
        sourceMetrics = new Metered();
        destination = TunnelDestination.create().route("echo", dir.resolve("echo.sock"))
            .listener(destinationMetrics.listener).bind().block(DEADLINE);
    }

    private void startSource() {
        source = TunnelSource.create()
            .connect(new InetSocketAddress("127.0.0.1", destination.address().getPort()))
            .expose("echo", dir.resolve("echo-exposed.sock"))
            .listener(sourceMetrics.listener).start().block(DEADLINE);
    }

    @AfterEach
    void stop() {
        if (source != null) {
            source.dispose();
        }
        destination.dispose();
        sourceMetrics.close();
        destinationMetrics.close();
    }

    @Test
    void destinationHealthIsUpWhileASourceIsConnectedAndDownAfterItLeaves() throws Exception {
        Scraper health = destinationMetrics.scraper;
        HttpResponse<String> before = health.get("/health");
        assertThat(before.statusCode()).isEqualTo(503);
        assertThat(before.body()).isEqualTo("no tunnel session is up\n");

        startSource();
        HttpResponse<String> up = health.awaitStatus("/health", 200, DEADLINE);
        assertThat(up.statusCode()).isEqualTo(200);
        assertThat(up.body()).isEqualTo("ok: 1 session(s) up\n");
        assertThat(up.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/plain"));

        source.dispose();
        HttpResponse<String> down = health.awaitStatus("/health", 503, DEADLINE);
        assertThat(down.statusCode()).isEqualTo(503);
        assertThat(down.body()).matches("(?s)no tunnel session is up since \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ "
            + "\\(last one closed: .*").endsWith("\n")
            .containsOnlyOnce("\n");
    }

    @Test
    void sourceHealthGoesDownWhenTheDestinationGoes() throws Exception {
        startSource();
        Scraper health = sourceMetrics.scraper;
        assertThat(health.awaitStatus("/health", 200, DEADLINE).statusCode()).isEqualTo(200);

        destination.dispose();
        assertThat(health.awaitStatus("/health", 503, DEADLINE).statusCode()).isEqualTo(503);
        assertThat(health.sample("migtunnel_sessions_active", java.util.Map.of())).isZero();
    }

    @Test
    void metricsAreServedInPrometheusTextFormatAndOtherPathsAreNotFound() throws Exception {
        HttpResponse<String> metrics = destinationMetrics.scraper.get("/metrics");
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.headers().firstValue("content-type")).hasValue(MetricsServer.PROMETHEUS_TEXT);
        assertThat(metrics.body()).contains("# TYPE migtunnel_sessions_active gauge", "migtunnel_streams_active 0");
        assertThat(destinationMetrics.scraper.get("/nothing").statusCode()).isEqualTo(404);
    }
}
