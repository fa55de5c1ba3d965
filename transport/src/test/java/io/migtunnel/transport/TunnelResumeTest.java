package io.migtunnel.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.mux.Session;
import io.migtunnel.mux.SessionConfig;
import io.migtunnel.mux.SessionListener;
import io.migtunnel.mux.internal.MuxSession;
import io.migtunnel.protocol.FrameType;
import io.migtunnel.protocol.HelloFrameCodec;
import io.migtunnel.protocol.Limits;
import io.migtunnel.protocol.PingFrameCodec;
import io.migtunnel.protocol.ResumeFrameCodec;
import io.migtunnel.protocol.ResumeTable;
import io.migtunnel.testing.Await;
import io.migtunnel.testing.StallingProxy;
import io.migtunnel.testing.TcpCuts;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Session resumption over real TCP and mutual TLS: the tunnel's connection is reset from outside
 * the JVM ({@code ss -K}) while a local connection pushes and reads bytes through it, and the
 * bytes arrive intact on the same session; a stolen token is worth nothing to another
 * certificate or without the secret; garbage in the resume exchange costs only that connection.
 */
@Timeout(120)
class TunnelResumeTest {
    private static final ByteBufAllocator ALLOC = ByteBufAllocator.DEFAULT;
    private static final SessionConfig CONFIG = SessionConfig.defaults().withStreamWindow(256 * 1024)
        .withResumeGrace(Duration.ofSeconds(30));
    private static TestCertificates certs;

    @TempDir
    Path dir;
    private UnixServer echo;
    private Tunnel destination;
    private Tunnel source;
    private StallingProxy proxy;
    private final AtomicLong resumes = new AtomicLong();
    private final List<String> refusals = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void makeCertificates(@TempDir Path certDir) throws Exception {
        certs = TestCertificates.create(certDir);
    }

    @AfterEach
    void stop() throws Exception {
        if (source != null) {
            source.dispose();
        }
        if (destination != null) {
            destination.dispose();
        }
        if (echo != null) {
            echo.close();
        }
        if (proxy != null) {
            proxy.close();
        }
    }

    private void start() throws Exception {
        start(CONFIG, false);
    }

    /** Starts both ends; the source connects through a {@link StallingProxy} when {@code viaProxy}. */
    private void start(SessionConfig config, boolean viaProxy) throws Exception {
        echo = UnixServer.echo(dir.resolve("echo.sock"));
        SessionListener counting = new SessionListener() {
            @Override
            public void onResumed(Session session, Duration outage, long retransmittedBytes) {
                resumes.incrementAndGet();
            }

            @Override
            public void onResumeRefused(String reason) {
                refusals.add(reason);
            }
        };
        destination = TunnelDestination.create().config(config).tls(certs.destination).listener(counting)
            .route("echo", echo.path()).bind().block(Duration.ofSeconds(10));
        InetSocketAddress at = new InetSocketAddress("127.0.0.1", destination.address().getPort());
        if (viaProxy) {
            this.proxy = new StallingProxy(at);
            at = this.proxy.address();
        }
        source = TunnelSource.create().config(config).tls(certs.source).connect(at)
            .expose("echo", dir.resolve("echo-exposed.sock")).start().block(Duration.ofSeconds(10));
    }

    @Test
    void aBlackHoleLongerThanTheKeepaliveTimeoutIsResumedWhenTheNetworkComesBack() throws Exception {
        start(CONFIG.withKeepalive(Duration.ofMillis(200), Duration.ofSeconds(1)), true);
        Await.until("the destination's session", Duration.ofSeconds(10), () -> destination.sessions().size() == 1);
        Session atDestination = destination.sessions().get(0);
        echoWhile(16 << 20, echoed -> {
            Await.until("echoed past 4 MiB", Duration.ofSeconds(60), () -> echoed.get() > 4 << 20);
            proxy.stall();
            Await.until("both ends declare the connection dead", Duration.ofSeconds(30),
                () -> !atDestination.isConnected() && !source.sessions().get(0).isConnected());
            assertThat(resumes.get()).as("no resume through a black hole").isZero();
            proxy.flow();
        });
        assertThat(destination.sessions()).containsExactly(atDestination);
        assertThat(resumes.get()).isPositive();
        assertThat(refusals).isEmpty();
    }

    @Test
    void anEchoAcrossThreeResetsOfTheTcpConnectionArrivesIntactOnTheSameSession() throws Exception {
        start();
        Await.until("the destination's session", Duration.ofSeconds(10), () -> destination.sessions().size() == 1);
        Session before = destination.sessions().get(0);
        int bytes = 48 << 20;
        echoWhile(bytes, echoed -> {
            int port = destination.address().getPort();
            for (int cut = 1; cut <= 3; cut++) {
                long threshold = (long) bytes * cut / 4;
                Await.until("echoed past " + threshold, Duration.ofSeconds(60), () -> echoed.get() > threshold);
                assertThat(TcpCuts.reset(port)).as("connections reset").isPositive();
                long expected = cut;
                Await.until("resume " + cut, Duration.ofSeconds(30), () -> resumes.get() >= expected);
            }
        });
        assertThat(destination.sessions()).containsExactly(before);
        assertThat(refusals).isEmpty();
        assertThat(echo.failures()).isEmpty();
    }

    @Test
    void aStolenTokenIsRefusedToAnotherCertificateAndWithoutTheSecretAndTheSessionGoesOn() throws Exception {
        start();
        MuxSession victim = (MuxSession) source.sessions().get(0);
        byte[] token = TunnelPair.onLoop(victim, victim::resumeToken);
        InetSocketAddress at = new InetSocketAddress("127.0.0.1", destination.address().getPort());

        assertThat(attempt(at, certs.secondSource, resume(token))).as("same CA, another certificate")
            .contains("RESUME_REFUSED").contains("peer identity differs");
        assertThat(attempt(at, certs.source, resume(token))).as("the right certificate, no secret")
            .contains("bad proof");
        assertThat(attempt(at, certs.source, PingFrameCodec.encodePing(ALLOC, 7))).as("garbage where RESUME belongs")
            .contains("expected RESUME after HELLO");
        assertThat(refusals).hasSize(2);

        assertThat(UnixClient.echo(dir.resolve("echo-exposed.sock"), "still mine")).isEqualTo("still mine");
        assertThat(destination.sessions()).hasSize(1);
        assertThat(victim.isConnected()).isTrue();
        assertThat(resumes.get()).isZero();
    }

    /** What a test does to the network while {@link #echoWhile} pushes; sees the bytes echoed so far. */
    @FunctionalInterface
    private interface Meanwhile {
        void run(AtomicLong echoed) throws Exception;
    }

    /**
     * Pushes {@code bytes} random bytes through the exposed echo route and reads them back, both
     * at once, while {@code meanwhile} runs; then checks that exactly the bytes sent came back.
     */
    private void echoWhile(int bytes, Meanwhile meanwhile) throws Exception {
        byte[] data = new byte[bytes];
        new Random(bytes).nextBytes(data);
        AtomicLong echoed = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (SocketChannel ch = UnixClient.connect(dir.resolve("echo-exposed.sock"))) {
            Future<byte[]> reply = pool.submit(() -> readAll(ch, echoed));
            Future<?> writing = pool.submit(() -> {
                UnixClient.writeAll(ch, data);
                ch.shutdownOutput();
                return null;
            });
            meanwhile.run(echoed);
            writing.get(60, TimeUnit.SECONDS);
            assertThat(reply.get(60, TimeUnit.SECONDS)).isEqualTo(data);
        } finally {
            pool.shutdownNow();
        }
    }

    /** A connection of its own that asks to resume, then sends {@code second}; the GOAWAY it gets. */
    private static String attempt(InetSocketAddress at, TunnelTls identity, ByteBuf second) throws Exception {
        try (RawTlsPeer peer = new RawTlsPeer(at, identity)) {
            peer.send(HelloFrameCodec.encode(ALLOC, Limits.VERSION, HelloFrameCodec.RESUMABLE | HelloFrameCodec.RESUME,
                CONFIG.streamWindow(), CONFIG.maxFramePayload(), CONFIG.maxConcurrentStreams()));
            assertThat(peer.await(FrameType.SESSION)).as("SESSION after HELLO").isNotNull();
            peer.send(second);
            return peer.goAwayMessage();
        }
    }

    private static ByteBuf resume(byte[] token) {
        return ResumeFrameCodec.encode(ALLOC, token, new byte[32], new byte[32], new ResumeTable(0, List.of()));
    }

    private static byte[] readAll(SocketChannel ch, AtomicLong count) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer buf = ByteBuffer.allocate(1 << 20);
        while (ch.read(buf) >= 0) {
            buf.flip();
            out.write(buf.array(), 0, buf.limit());
            count.addAndGet(buf.limit());
            buf.clear();
        }
        return out.toByteArray();
    }
}
