package io.migtunnel.transport.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.testing.Await;
import io.migtunnel.testing.ListeningSockets;
import io.migtunnel.testing.relay.SocketRelay;
import java.io.ByteArrayOutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the QEMU/NBD tests rely on from any {@link SocketRelay}, checked against in-JVM targets
 * (no QEMU needed): full-duplex byte streams, one target connection per client connection,
 * routing by name, target-speaks-first, and close propagation in both directions.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
abstract class RelayContractTestBase {

    @TempDir Path dir;
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private UnixTestServer echo;
    private UnixTestServer echo2;
    private UnixTestServer greeter;
    private SocketRelay relay;

    protected abstract SocketRelay newRelay();

    @BeforeEach
    void start() throws Exception {
        echo = track(UnixTestServer.start(dir.resolve("echo.sock"), UnixTestServer.Behaviour.ECHO));
        echo2 = track(UnixTestServer.start(dir.resolve("echo2.sock"), UnixTestServer.Behaviour.ECHO));
        greeter = track(UnixTestServer.start(dir.resolve("greeter.sock"), UnixTestServer.Behaviour.GREET_AND_CLOSE));
        relay = newRelay();
        closeables.add(0, relay);
        Map<String, Path> targets = new LinkedHashMap<>();
        targets.put("echo", dir.resolve("echo.sock"));
        targets.put("echo2", dir.resolve("echo2.sock"));
        targets.put("greeter", dir.resolve("greeter.sock"));
        relay.start(targets, dir.resolve("exposed"));
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    @Test
    void exposedSocketsAreListeningAfterStart() throws Exception {
        for (String name : List.of("echo", "echo2", "greeter")) {
            assertThat(relay.exposed(name).getFileName().toString()).isEqualTo(name + ".sock");
            assertThat(ListeningSockets.unix(relay.exposed(name))).as(name).isTrue();
        }
    }

    @Test
    void echoesLargeStreamWhileWritingConcurrently() throws Exception {
        byte[] data = random(16 * 1024 * 1024, 1);
        try (SocketChannel ch = connect("echo")) {
            assertThat(exchange(ch, data)).isEqualTo(data);
        }
    }

    @Test
    void eachClientConnectionGetsItsOwnTargetConnection() throws Exception {
        int clients = 8;
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                byte[] data = random(1024 * 1024, 100 + i);
                results.add(pool.submit(() -> {
                    try (SocketChannel ch = connect("echo")) {
                        return java.util.Arrays.equals(exchange(ch, data), data);
                    }
                }));
            }
            for (Future<Boolean> r : results) {
                assertThat(r.get(30, TimeUnit.SECONDS)).as("a client got exactly its own bytes back").isTrue();
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(echo.accepted()).isEqualTo(clients);
        assertThat(echo2.accepted()).isZero();
    }

    @Test
    void routesEachNameToItsOwnTarget() throws Exception {
        byte[] data = "ping".getBytes(StandardCharsets.US_ASCII);
        try (SocketChannel ch = connect("echo2")) {
            assertThat(exchange(ch, data)).isEqualTo(data);
        }
        assertThat(echo2.accepted()).isEqualTo(1);
        assertThat(echo.accepted()).isZero();
    }

    @Test
    void targetSpeakingFirstThenClosingReachesClientAsDataThenEof() throws Exception {
        try (SocketChannel ch = connect("greeter")) {
            assertThat(new String(readToEof(ch), StandardCharsets.US_ASCII)).isEqualTo(UnixTestServer.GREETING);
        }
    }

    @Test
    void clientCloseReachesTargetAsEof() throws Exception {
        try (SocketChannel ch = connect("echo")) {
            byte[] data = "bye".getBytes(StandardCharsets.US_ASCII);
            assertThat(exchange(ch, data)).isEqualTo(data);
        }
        Await.until("target to see the client's EOF", Duration.ofSeconds(10), () -> echo.clientEofs() == 1);
    }

    /**
     * QEMU 7.2 multifd: the destination takes the first accepted connection as the main channel,
     * and the source opens the others right after it. So connections opened back to back must
     * reach the target in that order. Only for relays that claim it (socat cannot).
     */
    @Test
    void connectionsReachTargetInTheOrderTheyWereOpened() throws Exception {
        Assumptions.assumeTrue(relay.preservesConnectionOrder(), relay + " does not preserve connection order");
        int perRound = 5;
        for (int round = 0; round < 20; round++) {
            List<SocketChannel> chans = new ArrayList<>();
            try {
                for (int i = 0; i < perRound; i++) {
                    SocketChannel ch = connect("echo");
                    chans.add(ch);
                    ch.write(ByteBuffer.wrap(new byte[] {(byte) i})); // like QEMU: speak right away
                }
                int seen = (round + 1) * perRound;
                Await.until("target to accept " + seen + " connections and read their first byte",
                        Duration.ofSeconds(10),
                        () -> echo.firstBytesInAcceptOrder().stream().filter(b -> b >= 0).count() >= seen);
                List<Integer> all = echo.firstBytesInAcceptOrder();
                assertThat(all.subList(seen - perRound, seen))
                        .as("round %d, first byte per connection in target accept order", round)
                        .containsExactly(0, 1, 2, 3, 4);
            } finally {
                for (SocketChannel ch : chans) {
                    ch.close();
                }
            }
        }
    }

    private <T extends AutoCloseable> T track(T c) {
        closeables.add(c);
        return c;
    }

    private SocketChannel connect(String name) throws Exception {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(relay.exposed(name)));
        return ch;
    }

    /** Writes {@code data} on another thread while reading; returns exactly data.length bytes read. */
    private static byte[] exchange(SocketChannel ch, byte[] data) throws Exception {
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
            try {
                ByteBuffer b = ByteBuffer.wrap(data);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        ByteBuffer in = ByteBuffer.allocate(data.length);
        while (in.hasRemaining()) {
            if (ch.read(in) < 0) {
                throw new AssertionError("EOF after " + in.position() + " of " + data.length + " bytes");
            }
        }
        writer.get(30, TimeUnit.SECONDS);
        return in.array();
    }

    private static byte[] readToEof(SocketChannel ch) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer buf = ByteBuffer.allocate(4096);
        while (ch.read(buf) >= 0) {
            out.write(buf.array(), 0, buf.position());
            buf.clear();
        }
        return out.toByteArray();
    }

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < size; i++) {
            b[i] = (byte) r.nextInt(256);
        }
        return b;
    }
}
