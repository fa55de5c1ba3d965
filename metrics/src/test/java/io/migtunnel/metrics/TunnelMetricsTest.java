package io.migtunnel.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.testing.UnixSockets;
import io.migtunnel.mux.SessionConfig;
import io.migtunnel.mux.StreamPriorities;
import io.migtunnel.transport.Tunnel;
import io.migtunnel.transport.TunnelDestination;
import io.migtunnel.transport.TunnelSource;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
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
        .withKeepalive(Duration.ofMillis(50), Duration.ofSeconds(10))
        .withPriorities(StreamPriorities.defaults().with("echo", 1));
    private static final double WINDOW = CONFIG.streamWindow();
    /** What the producer route writes to each connection: many windows. */
    private static final long PRODUCED = 8L << 20;

    @TempDir
    Path dir;

    private ServerSocketChannel echo;
    private ServerSocketChannel producer;
    private Metered destinationMetrics;
    private Metered sourceMetrics;
    private Tunnel destination;
    private Tunnel source;
    private Path exposed;
    private Path exposedProducer;

    @BeforeEach
    void startTunnel() throws Exception {
        echo = UnixSockets.echoServer(dir.resolve("echo.sock"));
        exposed = dir.resolve("echo-exposed.sock");
        producer = UnixSockets.producerServer(dir.resolve("producer.sock"), PRODUCED);
        exposedProducer = dir.resolve("producer-exposed.sock");
        destinationMetrics = new Metered();
        sourceMetrics = new Metered();
        destination = TunnelDestination.create().config(CONFIG).route("echo", dir.resolve("echo.sock"))
            .route("producer", dir.resolve("producer.sock"))
            .listener(destinationMetrics.listener).bind().block(DEADLINE);
        source = TunnelSource.create().config(CONFIG)
            .connect(new InetSocketAddress("127.0.0.1", destination.address().getPort()))
            .expose("echo", exposed).expose("producer", exposedProducer).listener(sourceMetrics.listener).start().block(DEADLINE);
    }

    @AfterEach
    void stop() throws Exception {
        source.dispose();
        destination.dispose();
        sourceMetrics.close();
        destinationMetrics.close();
        echo.close();
        producer.close();
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

    @Test
    void everyFrameSentHasItsQueueingDelayInItsUrgencysHistogram() throws Exception {
        byte[] data = new byte[2 * 1024 * 1024];
        new Random(11).nextBytes(data);

        assertThat(UnixSockets.roundTrip(exposed, data)).isEqualTo(data);

        for (Metered side : new Metered[] {sourceMetrics, destinationMetrics}) {
            Scraper scraper = side.scraper;
            assertThat(scraper.awaitSample("migtunnel_stream_bytes_total", Map.of("stream", "echo", "direction",
                "sent"), v -> v == data.length, DEADLINE)).isEqualTo(data.length);
            double sent = scraper.sample("migtunnel_stream_frames_total", Map.of("stream", "echo", "direction", "sent"));
            double delays = scraper.sample("migtunnel_stream_queueing_delay_seconds_count", Map.of("urgency", "1"));
            assertThat(delays).as("one delay per frame with payload (frames_total also counts the bare FIN)")
                .isBetween(sent - 1, sent);
            assertThat(scraper.sample("migtunnel_stream_queueing_delay_seconds_bucket",
                Map.of("urgency", "1", "le", "+Inf"))).isEqualTo(delays);
            assertThat(scraper.sample("migtunnel_stream_queueing_delay_seconds_count", Map.of("urgency", "3")))
                .as("no stream of the default class wrote").isNaN();
        }
        // 2 MiB through a 64 KiB window: the source's frames waited for credit, which the delays include.
        assertThat(sourceMetrics.scraper.sample("migtunnel_stream_queueing_delay_seconds_max", Map.of("urgency", "1")))
            .isPositive();
    }

    @Test
    void aStalledReaderHoldsAtMostOneWindowBufferedUntilItDrains() throws Exception {
        Map<String, String> stream = Map.of("stream", "producer");
        Scraper source = sourceMetrics.scraper;
        Scraper destination = destinationMetrics.scraper;
        try (SocketChannel reader = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            reader.setOption(StandardSocketOptions.SO_RCVBUF, 4096);
            reader.connect(UnixDomainSocketAddress.of(exposedProducer));

            // Nobody reads: the source's writer stops taking, the destination uses up its credit.
            assertThat(destination.awaitSample("migtunnel_stream_send_window_bytes", stream, v -> v == 0, DEADLINE))
                .isZero();
            double buffered = source.awaitSample("migtunnel_stream_buffered_bytes", stream, v -> v > WINDOW / 2,
                DEADLINE);
            assertThat(buffered).as("more than the half window that is not yet credited back, at most one window")
                .isGreaterThan(WINDOW / 2).isLessThanOrEqualTo(WINDOW);
            assertThat(source.sample("migtunnel_stream_send_window_bytes", stream))
                .as("the source sent nothing: its whole window is left").isEqualTo(WINDOW);
            assertThat(destination.sample("migtunnel_stream_buffered_bytes", stream)).isZero();

            assertThat(UnixSockets.readToEnd(reader)).isEqualTo(PRODUCED);
        }
        for (Metered side : new Metered[] {sourceMetrics, destinationMetrics}) {
            assertThat(side.scraper.awaitSample("migtunnel_streams_active", Map.of(), v -> v == 0, DEADLINE)).isZero();
            assertThat(side.scraper.sample("migtunnel_stream_buffered_bytes", stream)).isZero();
            assertThat(side.scraper.sample("migtunnel_stream_send_window_bytes", stream))
                .as("a closed stream leaves no window behind").isZero();
        }
    }

    private static void assertBytes(Scraper scraper, String direction, long expected) throws Exception {
        Map<String, String> labels = Map.of("stream", "echo", "direction", direction);
        double value = scraper.awaitSample("migtunnel_stream_bytes_total", labels, v -> v == expected, DEADLINE);
        assertThat(value).as("migtunnel_stream_bytes_total%s", labels).isEqualTo((double) expected);
    }
}
