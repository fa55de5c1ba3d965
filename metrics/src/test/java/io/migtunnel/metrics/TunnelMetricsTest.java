package io.migtunnel.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.mux.SessionConfig;
import io.migtunnel.transport.Tunnel;
import io.migtunnel.transport.TunnelDestination;
import io.migtunnel.transport.TunnelSource;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Moves known bytes through a real tunnel and reads them back from both endpoints' {@code /metrics}. */
class TunnelMetricsTest {
    private static final Duration DEADLINE = Duration.ofSeconds(10);
    /** The smallest window, so the sender certainly waits for credit. */
    private static final SessionConfig CONFIG = SessionConfig.defaults()
        .withStreamWindow(65_536)
        .withKeepalive(Duration.ofMillis(50), Duration.ofSeconds(10));

    @TempDir
    Path dir;

    private ServerSocketChannel echo;
    private Metered destinationMetrics;
    private Metered sourceMetrics;
    private Tunnel destination;
    private Tunnel source;
    private Path exposed;

    @BeforeEach
    void startTunnel() throws Exception {
        echo = UnixSockets.echoServer(dir.resolve("echo.sock"));
        exposed = dir.resolve("echo-exposed.sock");
        destinationMetrics = new Metered();
        sourceMetrics = new Metered();
        destination = TunnelDestination.create().config(CONFIG).route("echo", dir.resolve("echo.sock"))
            .listener(destinationMetrics.listener).bind().block(DEADLINE);
        source = TunnelSource.create().config(CONFIG)
            .connect(new InetSocketAddress("127.0.0.1", destination.address().getPort()))
            .expose("echo", exposed).listener(sourceMetrics.listener).start().block(DEADLINE);
    }

    @AfterEach
    void stop() throws Exception {
        source.dispose();
        destination.dispose();
        sourceMetrics.close();
        destinationMetrics.close();
        echo.close();
    }

    @Test
    void byteCountersEqualTheBytesMovedPerStreamAndDirectionOnBothSides() throws Exception {
        byte[] data = new byte[3 * 1024 * 1024 + 17];
        new Random(42).nextBytes(data);

        assertThat(UnixSockets.roundTrip(exposed, data)).isEqualTo(data);

        long n = data.length;
        assertBytes(sourceMetrics.scraper, "sent", n);
        assertBytes(sourceMetrics.scraper, "received", n);
        assertBytes(destinationMetrics.scraper, "received", n);
        assertBytes(destinationMetrics.scraper, "sent", n);
        for (Metered side : new Metered[] {sourceMetrics, destinationMetrics}) {
            assertThat(side.scraper.sample("migtunnel_streams_opened_total", Map.of("stream", "echo"))).isEqualTo(1);
            assertThat(side.scraper.sample("migtunnel_stream_frames_total", Map.of("stream", "echo", "direction", "sent")))
                .isGreaterThanOrEqualTo((double) n / CONFIG.maxFramePayload());
            assertThat(side.scraper.awaitSample("migtunnel_streams_active", Map.of(), v -> v == 0, DEADLINE)).isZero();
        }
    }

    @Test
    void creditWaitsAndRoundTripsAreTimed() throws Exception {
        byte[] data = new byte[2 * 1024 * 1024];
        new Random(7).nextBytes(data);

        assertThat(UnixSockets.roundTrip(exposed, data)).isEqualTo(data);

        // 2 MiB through a 64 KiB window: the source runs out of credit before the first CREDIT returns.
        assertThat(sourceMetrics.scraper.awaitSample("migtunnel_stream_credit_blocked_seconds_count",
            Map.of("stream", "echo"), v -> v > 0, DEADLINE)).isPositive();
        assertThat(sourceMetrics.scraper.awaitSample("migtunnel_session_rtt_seconds_count", Map.of(), v -> v > 0,
            DEADLINE)).isPositive();
        assertThat(sourceMetrics.scraper.sample("migtunnel_sessions_active", Map.of())).isEqualTo(1);
    }

    private static void assertBytes(Scraper scraper, String direction, long expected) throws Exception {
        Map<String, String> labels = Map.of("stream", "echo", "direction", direction);
        double value = scraper.awaitSample("migtunnel_stream_bytes_total", labels, v -> v == expected, DEADLINE);
        assertThat(value).as("migtunnel_stream_bytes_total%s", labels).isEqualTo((double) expected);
    }
}
