package io.migtunnel.examples;

import io.migtunnel.metrics.Scraper;
import io.migtunnel.testing.UnixSockets;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Starts the example against an echo server, moves bytes through it and scrapes its {@code /metrics}. */
class EmbeddedTunnelApplicationTest {
    private static final Duration DEADLINE = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    @Test
    void bytesThroughTheExposedSocketShowUpInItsMetrics() throws Exception {
        byte[] data = new byte[1024 * 1024 + 3];
        new Random(1).nextBytes(data);
        Path exposed = dir.resolve("exposed.sock");
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

        try (ServerSocketChannel echo = UnixSockets.echoServer(dir.resolve("echo.sock"));
             EmbeddedTunnelApplication app = EmbeddedTunnelApplication.start("echo", dir.resolve("echo.sock"),
                 exposed, new InetSocketAddress("127.0.0.1", 0), registry).block(DEADLINE)) {
            assertThat(UnixSockets.roundTrip(exposed, data)).isEqualTo(data);

            Scraper scraper = new Scraper(app.metricsPort());
            // one registry for both ends: the source sends the data, the destination sends the echo
            long both = 2L * data.length;
            for (String direction : new String[] {"sent", "received"}) {
                Map<String, String> labels = Map.of("stream", "echo", "direction", direction);
                assertThat(scraper.awaitSample("migtunnel_stream_bytes_total", labels, v -> v == both, DEADLINE))
                    .as("migtunnel_stream_bytes_total%s", labels).isEqualTo((double) both);
            }
            assertThat(scraper.sample("migtunnel_sessions_active", Map.of())).isEqualTo(2);
            assertThat(scraper.get("/health").statusCode()).isEqualTo(200);
        }
    }
}
