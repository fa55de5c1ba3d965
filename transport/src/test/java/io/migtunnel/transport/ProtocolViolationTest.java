package io.migtunnel.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.mux.SessionConfig;
import io.migtunnel.protocol.DataFrameCodec;
import io.migtunnel.protocol.ErrorCode;
import io.migtunnel.protocol.FrameType;
import io.migtunnel.protocol.GoAwayFrameCodec;
import io.migtunnel.protocol.HelloFrameCodec;
import io.migtunnel.protocol.Limits;
import io.migtunnel.protocol.OpenFrameCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A hand-driven peer breaks the protocol against a real destination: each violation ends in
 * GOAWAY with the right code and a closed connection, and the destination keeps serving.
 */
@Timeout(60)
class ProtocolViolationTest {
    private static final ByteBufAllocator ALLOC = ByteBufAllocator.DEFAULT;

    @TempDir
    Path dir;
    private Tunnel destination;
    private UnixServer echo;

    @BeforeEach
    void start() throws Exception {
        echo = UnixServer.echo(dir.resolve("echo.sock"));
        destination = TunnelDestination.create().route("echo", echo.path())
            .config(SessionConfig.defaults().withStreamWindow(65536).withHandshakeTimeout(Duration.ofSeconds(2)))
            .bind().block(Duration.ofSeconds(10));
    }

    @AfterEach
    void stop() throws Exception {
        destination.dispose();
        echo.close();
    }

    static ByteBuf hello() {
        return HelloFrameCodec.encode(ALLOC, Limits.VERSION, 65536, 65536, 16);
    }

    static ByteBuf raw(String hex) {
        return Unpooled.wrappedBuffer(ByteBufUtil.decodeHexDump(hex));
    }

    static Stream<Arguments> violations() {
        List<Arguments> list = new ArrayList<>();
        list.add(Arguments.of("unknown frame type", ErrorCode.PROTOCOL_ERROR,
            (Function<Void, ByteBuf>) v -> raw("09000000" + "00000001" + "00000000")));
        list.add(Arguments.of("oversize length", ErrorCode.FRAME_SIZE_ERROR,
            (Function<Void, ByteBuf>) v -> raw("03000000" + "00000001" + "ffffffff")));
        list.add(Arguments.of("DATA for a stream never opened", ErrorCode.PROTOCOL_ERROR,
            (Function<Void, ByteBuf>) v -> DataFrameCodec.encode(ALLOC, 7, false, Unpooled.wrappedBuffer(new byte[3]))));
        list.add(Arguments.of("duplicate OPEN", ErrorCode.PROTOCOL_ERROR, (Function<Void, ByteBuf>) v ->
            Unpooled.wrappedBuffer(OpenFrameCodec.encode(ALLOC, 1, "echo"), OpenFrameCodec.encode(ALLOC, 1, "echo"))));
        list.add(Arguments.of("OPEN with the server's parity", ErrorCode.PROTOCOL_ERROR,
            (Function<Void, ByteBuf>) v -> OpenFrameCodec.encode(ALLOC, 2, "echo")));
        list.add(Arguments.of("window overrun", ErrorCode.FLOW_CONTROL_ERROR, (Function<Void, ByteBuf>) v ->
            Unpooled.wrappedBuffer(OpenFrameCodec.encode(ALLOC, 1, "echo"),
                DataFrameCodec.encode(ALLOC, 1, false, Unpooled.wrappedBuffer(new byte[65536])),
                DataFrameCodec.encode(ALLOC, 1, false, Unpooled.wrappedBuffer(new byte[1])))));
        list.add(Arguments.of("second HELLO", ErrorCode.PROTOCOL_ERROR, (Function<Void, ByteBuf>) v -> hello()));
        return list.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("violations")
    void violationEndsInGoAwayAndClose(String what, ErrorCode expected, Function<Void, ByteBuf> frames) throws Exception {
        ByteBuf sent = Unpooled.wrappedBuffer(hello(), frames.apply(null));
        GoAway goAway = exchange(sent);
        assertThat(goAway).as("GOAWAY for %s", what).isNotNull();
        assertThat(goAway.code).as("code for %s (%s)", what, goAway.message).isEqualTo(expected.code());
        assertThat(goAway.closedAfter).as("connection closed after GOAWAY").isTrue();
        assertStillServes();
    }

    @Test
    void badMagicIsUnsupportedVersion() throws Exception {
        ByteBuf bad = hello();
        bad.setInt(Limits.HEADER_LENGTH, 0x48545450); // "HTTP"
        GoAway goAway = exchange(bad);
        assertThat(goAway.code).isEqualTo(ErrorCode.UNSUPPORTED_VERSION.code());
        assertStillServes();
    }

    @Test
    void garbageInsteadOfHelloIsRefused() throws Exception {
        GoAway goAway = exchange(raw("474554202f20485454502f312e310d0a0d0a")); // "GET / HTTP/1.1"
        assertThat(goAway.code).isIn((long) ErrorCode.PROTOCOL_ERROR.code(), (long) ErrorCode.FRAME_SIZE_ERROR.code());
        assertStillServes();
    }

    @Test
    void aSilentPeerIsDroppedAfterTheHandshakeTimeout() throws Exception {
        try (Socket s = new Socket("127.0.0.1", destination.address().getPort())) {
            s.setSoTimeout(10_000);
            GoAway goAway = readUntilGoAway(s.getInputStream());
            assertThat(goAway.code).isEqualTo(ErrorCode.PROTOCOL_ERROR.code());
            assertThat(goAway.message).contains("no HELLO");
        }
    }

    @Test
    void aPeerThatStopsAnsweringIsDeclaredDeadAndItsStreamsFail() throws Exception {
        // A destination with a short keepalive; the "peer" completes HELLO, opens a stream, then
        // goes silent (never answers PING): the stream's local socket must be closed.
        java.util.concurrent.CountDownLatch localClosed = new java.util.concurrent.CountDownLatch(1);
        UnixServer target = UnixServer.start(dir.resolve("hold.sock"), ch -> {
            if (ch.read(java.nio.ByteBuffer.allocate(1)) < 0) {
                localClosed.countDown();
            }
        });
        Tunnel dest = TunnelDestination.create().route("hold", target.path())
            .config(SessionConfig.defaults().withKeepalive(Duration.ofMillis(100), Duration.ofMillis(500)))
            .bind().block(Duration.ofSeconds(10));
        try (Socket s = new Socket("127.0.0.1", dest.address().getPort())) {
            s.setSoTimeout(10_000);
            ByteBuf open = Unpooled.wrappedBuffer(hello(), OpenFrameCodec.encode(ALLOC, 1, "hold"));
            s.getOutputStream().write(ByteBufUtil.getBytes(open));
            open.release();
            long start = System.nanoTime();
            GoAway goAway = readUntilGoAway(s.getInputStream());
            assertThat(goAway.code).isEqualTo(ErrorCode.KEEPALIVE_TIMEOUT.code());
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
            assertThat(target.accepted()).as("the stream had been connected before the peer died").isEqualTo(1);
            assertThat(localClosed.await(5, java.util.concurrent.TimeUnit.SECONDS))
                .as("the failed stream's local socket is closed").isTrue();
        } finally {
            dest.dispose();
            target.close();
        }
    }

    private record GoAway(long code, String message, boolean closedAfter) {
    }

    private GoAway exchange(ByteBuf bytes) throws Exception {
        try (Socket s = new Socket("127.0.0.1", destination.address().getPort())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            byte[] b = ByteBufUtil.getBytes(bytes);
            bytes.release();
            out.write(b);
            out.flush();
            return readUntilGoAway(s.getInputStream());
        }
    }

    /** Reads frames until GOAWAY, then checks that EOF follows. */
    private static GoAway readUntilGoAway(InputStream in) throws Exception {
        GoAway[] seen = new GoAway[1];
        PeerFrames.readUntil(in, f -> {
            if (f.type() != FrameType.GOAWAY) {
                return false;
            }
            seen[0] = new GoAway(GoAwayFrameCodec.code(f.payload()), GoAwayFrameCodec.message(f.payload()), false);
            return true;
        });
        return seen[0] == null ? null : new GoAway(seen[0].code(), seen[0].message(), in.read(new byte[8192]) < 0);
    }

    private void assertStillServes() throws Exception {
        Tunnel src = TunnelSource.create()
            .connect(new java.net.InetSocketAddress("127.0.0.1", destination.address().getPort()))
            .expose("echo", dir.resolve("echo-exposed.sock"))
            .start().block(Duration.ofSeconds(10));
        try (var ch = UnixClient.connect(dir.resolve("echo-exposed.sock"))) {
            UnixClient.writeAll(ch, new byte[] {1, 2, 3});
            ch.shutdownOutput();
            assertThat(UnixClient.readToEnd(ch)).containsExactly(1, 2, 3);
        } finally {
            src.dispose();
        }
    }
}
