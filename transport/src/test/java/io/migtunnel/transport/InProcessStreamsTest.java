package io.migtunnel.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.migtunnel.mux.MuxStream;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Mono;

/**
 * Streams served inside the processes: a source opens one with {@link Tunnel#openStream}, a
 * destination serves it with a {@link StreamHandler} that can route the rest of its session.
 */
@Timeout(60)
class InProcessStreamsTest {
    private static final Duration T = Duration.ofSeconds(10);
    @TempDir
    Path dir;
    private Tunnel destination;
    private Tunnel source;
    private UnixServer echo;

    @AfterEach
    void close() throws Exception {
        if (source != null) {
            source.dispose();
        }
        if (destination != null) {
            destination.dispose();
        }
        if (echo != null) {
            echo.close();
        }
    }

    /** Reads one line: "route NAME" adds NAME → the echo server for this session, answers "ok NAME". */
    private StreamHandler controlHandler(Path target) {
        return (stream, routes) -> {
            stream.accept();
            stream.send(stream.inbound().map(buf -> {
                String line = buf.toString(StandardCharsets.UTF_8).trim();
                buf.release();
                String name = line.substring("route ".length());
                routes.add(name, target);
                return (ByteBuf) Unpooled.copiedBuffer("ok " + name + "\n", StandardCharsets.UTF_8);
            })).subscribe(null, e -> { });
        };
    }

    private void start(StreamHandler handler, String exposed) {
        destination = TunnelDestination.create().handle("control", handler).bind().block(T);
        source = TunnelSource.create()
            .connect(new InetSocketAddress("127.0.0.1", destination.address().getPort()))
            .expose(exposed, dir.resolve("exposed.sock"))
            .start().block(T);
    }

    @Test
    void aHandlerAnswersInProcessAndItsSessionRoutesTakeEffect() throws Exception {
        echo = UnixServer.echo(dir.resolve("echo.sock"));
        start(controlHandler(echo.path()), "later");

        // Before the handler adds the route, the name is unknown: that stream alone is reset.
        try (SocketChannel ch = UnixClient.connect(dir.resolve("exposed.sock"))) {
            assertThat(UnixClient.readToEnd(ch)).isEmpty();
        }

        MuxStream control = source.openStream("control").block(T);
        String reply = control.send(Mono.just(Unpooled.copiedBuffer("route later\n", StandardCharsets.UTF_8)))
            .thenMany(control.inbound())
            .map(buf -> {
                try {
                    return buf.toString(StandardCharsets.UTF_8);
                } finally {
                    buf.release();
                }
            })
            .reduce(String::concat)
            .block(T);
        assertThat(reply).isEqualTo("ok later\n");

        try (SocketChannel ch = UnixClient.connect(dir.resolve("exposed.sock"))) {
            UnixClient.writeAll(ch, "hello".getBytes(StandardCharsets.US_ASCII));
            ch.shutdownOutput();
            assertThat(new String(UnixClient.readToEnd(ch), StandardCharsets.US_ASCII)).isEqualTo("hello");
        }
    }

    @Test
    void routesAddedInOneSessionAreInvisibleToAnother() throws Exception {
        echo = UnixServer.echo(dir.resolve("echo.sock"));
        start(controlHandler(echo.path()), "later");
        MuxStream control = source.openStream("control").block(T);
        control.send(Mono.just(Unpooled.copiedBuffer("route later\n", StandardCharsets.UTF_8))).block(T);
        control.inbound().next().doOnNext(ByteBuf::release).block(T);

        Tunnel other = TunnelSource.create()
            .connect(new InetSocketAddress("127.0.0.1", destination.address().getPort()))
            .expose("later", dir.resolve("other.sock"))
            .start().block(T);
        try (SocketChannel ch = UnixClient.connect(dir.resolve("other.sock"))) {
            assertThat(UnixClient.readToEnd(ch)).as("no route in the second session").isEmpty();
        } finally {
            other.dispose();
        }
    }

    @Test
    void aDestinationOpensNoStreamsAndABadNameIsRefused() {
        echo = null;
        start((stream, routes) -> stream.reset(io.migtunnel.protocol.ErrorCode.UNKNOWN_ROUTE, "no"), "x");
        assertThatThrownBy(() -> destination.openStream("control").block(T))
            .isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> source.openStream("../etc").block(T)).hasMessageContaining("looks like a path");
        MuxStream refused = source.openStream("control").block(T);
        assertThatThrownBy(() -> refused.onOpened().block(T)).hasMessageContaining("no");
    }
}
