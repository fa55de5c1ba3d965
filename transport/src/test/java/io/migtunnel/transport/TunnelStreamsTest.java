package io.migtunnel.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.mux.SessionConfig;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Streams through a real tunnel between real UNIX sockets: data, half-close, resets, churn. */
@Timeout(120)
class TunnelStreamsTest {
    @TempDir
    Path dir;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private <T extends AutoCloseable> T track(T c) {
        toClose.add(c);
        return c;
    }

    @Test
    void concurrentConnectionsPerNameCarryBytesIntactBothWays() throws Exception {
        UnixServer echo = track(UnixServer.echo(dir.resolve("echo.sock")));
        TunnelPair pair = track(TunnelPair.start(dir, Map.of("echo", echo.path()), SessionConfig.defaults()));
        Path exposed = TunnelPair.exposed(dir, "echo");
        ExecutorService pool = Executors.newFixedThreadPool(16);
        try {
            List<Future<byte[][]>> results = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                int seed = i;
                results.add(pool.submit(() -> {
                    byte[] data = new byte[3 * 1024 * 1024 + seed * 4099];
                    new Random(seed).nextBytes(data);
                    try (SocketChannel ch = UnixClient.connect(exposed)) {
                        Future<byte[]> reply = pool.submit(() -> UnixClient.readToEnd(ch));
                        UnixClient.writeAll(ch, data);
                        ch.shutdownOutput();
                        return new byte[][] {data, reply.get(60, TimeUnit.SECONDS)};
                    }
                }));
            }
            for (Future<byte[][]> r : results) {
                byte[][] sentAndReceived = r.get(90, TimeUnit.SECONDS);
                assertThat(Arrays.equals(sentAndReceived[0], sentAndReceived[1]))
                    .as("echoed bytes equal sent bytes (%d bytes)", sentAndReceived[0].length).isTrue();
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(echo.accepted()).isEqualTo(8);
        assertThat(echo.failures()).isEmpty();
    }

    @Test
    void halfCloseLetsTheOtherDirectionKeepFlowing() throws Exception {
        // The server reads to EOF, then answers with how much it read: only possible if FIN is
        // carried as a half-close and the reverse direction stays open.
        UnixServer counter = track(UnixServer.start(dir.resolve("count.sock"), ch -> {
            long n = UnixClient.readToEnd(ch, java.security.MessageDigest.getInstance("SHA-256"));
            UnixClient.writeAll(ch, ("read " + n).getBytes(StandardCharsets.US_ASCII));
        }));
        TunnelPair pair = track(TunnelPair.start(dir, Map.of("count", counter.path()), SessionConfig.defaults()));
        try (SocketChannel ch = UnixClient.connect(TunnelPair.exposed(dir, "count"))) {
            UnixClient.writeAll(ch, new byte[1_000_000]);
            ch.shutdownOutput();
            assertThat(new String(UnixClient.readToEnd(ch), StandardCharsets.US_ASCII)).isEqualTo("read 1000000");
        }
        TunnelPair.awaitOnLoop("no active stream on the source", pair.sourceSession(),
            () -> pair.sourceSession().activeStreams() == 0, Duration.ofSeconds(5));
    }

    @Test
    void unknownRouteResetsThatStreamOnlyAndTheTunnelStaysUp() throws Exception {
        UnixServer echo = track(UnixServer.echo(dir.resolve("echo.sock")));
        TunnelDestination d = TunnelDestination.create().route("echo", echo.path());
        Tunnel dest = d.bind().block(Duration.ofSeconds(10));
        toClose.add(dest::dispose);
        // The source exposes a name the destination has no route for.
        Tunnel src = TunnelSource.create()
            .connect(new java.net.InetSocketAddress("127.0.0.1", dest.address().getPort()))
            .expose("echo", dir.resolve("echo-exposed.sock"))
            .expose("nowhere", dir.resolve("nowhere.sock"))
            .start().block(Duration.ofSeconds(10));
        toClose.add(src::dispose);
        try (SocketChannel bad = UnixClient.connect(dir.resolve("nowhere.sock"))) {
            assertThat(UnixClient.readToEnd(bad)).as("reset stream ends the local connection").isEmpty();
        }
        assertEchoWorks(dir.resolve("echo-exposed.sock"));
        assertThat(src.isDisposed()).isFalse();
    }

    @Test
    void unreachableRouteTargetResetsThatStreamOnly() throws Exception {
        UnixServer echo = track(UnixServer.echo(dir.resolve("echo.sock")));
        TunnelPair pair = track(TunnelPair.start(dir,
            Map.of("echo", echo.path(), "gone", dir.resolve("no-such-server.sock")), SessionConfig.defaults()));
        try (SocketChannel bad = UnixClient.connect(TunnelPair.exposed(dir, "gone"))) {
            assertThat(UnixClient.readToEnd(bad)).isEmpty();
        }
        assertEchoWorks(TunnelPair.exposed(dir, "echo"));
    }

    @Test
    void aLocalServerDyingMidStreamResetsThatStreamOnly() throws Exception {
        UnixServer echo = track(UnixServer.echo(dir.resolve("echo.sock")));
        UnixServer dies = track(UnixServer.start(dir.resolve("dies.sock"), ch -> {
            ch.read(ByteBuffer.allocate(10)); // take a little, then vanish without a half-close
            ch.setOption(java.net.StandardSocketOptions.SO_LINGER, 0);
        }));
        TunnelPair pair = track(TunnelPair.start(dir, Map.of("echo", echo.path(), "dies", dies.path()),
            SessionConfig.defaults()));
        try (SocketChannel ch = UnixClient.connect(TunnelPair.exposed(dir, "dies"))) {
            UnixClient.writeAll(ch, new byte[100]);
            try {
                UnixClient.readToEnd(ch);
            } catch (java.io.IOException expected) {
                // a reset may surface as ECONNRESET instead of EOF; either ends the connection
            }
        }
        assertEchoWorks(TunnelPair.exposed(dir, "echo"));
        TunnelPair.awaitOnLoop("no active stream on the source", pair.sourceSession(),
            () -> pair.sourceSession().activeStreams() == 0, Duration.ofSeconds(5));
    }

    @Test
    void tenThousandStreamOpenCloseCyclesLeaveNoState() throws Exception {
        UnixServer echo = track(UnixServer.echo(dir.resolve("echo.sock")));
        TunnelPair pair = track(TunnelPair.start(dir, Map.of("echo", echo.path()), SessionConfig.defaults()));
        Path exposed = TunnelPair.exposed(dir, "echo");
        for (int i = 0; i < 10_000; i++) {
            try (SocketChannel ch = UnixClient.connect(exposed)) {
                UnixClient.writeAll(ch, new byte[] {(byte) i});
                ch.shutdownOutput();
                byte[] back = UnixClient.readToEnd(ch);
                assertThat(back).containsExactly((byte) i);
            }
        }
        TunnelPair.awaitOnLoop("source session holds no stream", pair.sourceSession(),
            () -> pair.sourceSession().activeStreams() == 0 && pair.sourceSession().bufferedBytes() == 0,
            Duration.ofSeconds(10));
        TunnelPair.awaitOnLoop("destination session holds no stream", pair.destinationSession(),
            () -> pair.destinationSession().activeStreams() == 0, Duration.ofSeconds(10));
        assertThat(echo.accepted()).isEqualTo(10_000);
    }

    private static void assertEchoWorks(Path exposed) throws Exception {
        try (SocketChannel ch = UnixClient.connect(exposed)) {
            UnixClient.writeAll(ch, "still up".getBytes(StandardCharsets.US_ASCII));
            ch.shutdownOutput();
            assertThat(new String(UnixClient.readToEnd(ch), StandardCharsets.US_ASCII)).isEqualTo("still up");
        }
    }
}
