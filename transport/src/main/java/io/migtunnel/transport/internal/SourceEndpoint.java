package io.migtunnel.transport.internal;

import io.migtunnel.mux.MuxStream;
import io.migtunnel.mux.Session;
import io.migtunnel.mux.SessionConfig;
import io.migtunnel.mux.SessionListener;
import io.migtunnel.mux.StreamAcceptor;
import io.migtunnel.mux.internal.MuxSession;
import io.migtunnel.transport.Tunnel;
import io.netty.channel.ChannelOption;
import io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.netty.Connection;
import reactor.netty.DisposableServer;
import reactor.netty.resources.LoopResources;
import reactor.netty.tcp.TcpClient;
import reactor.netty.tcp.TcpServer;

/** A connected source: one session, one listening UNIX socket per exposed name. */
public final class SourceEndpoint implements Tunnel {
    private static final Logger log = LoggerFactory.getLogger(SourceEndpoint.class);
    private final Connection connection;
    private final MuxSession session;
    private final List<DisposableServer> servers;
    private final List<Path> sockets;
    private final Loops loops;
    private final InetSocketAddress address;
    private final Mono<Void> closed;

    private SourceEndpoint(Connection connection, MuxSession session, List<DisposableServer> servers,
                           List<Path> sockets, Loops loops, InetSocketAddress address) {
        this.connection = connection;
        this.session = session;
        this.servers = servers;
        this.sockets = sockets;
        this.loops = loops;
        this.address = address;
        this.closed = session.onClose().doFinally(s -> release()).cache();
        this.closed.subscribe(null, e -> { });
    }

    /**
     * Connects, waits for the handshakes, binds the exposed sockets with {@code access};
     * {@code tls} null means plaintext.
     */
    public static Mono<Tunnel> start(InetSocketAddress connect, Map<String, Path> exposes, SessionConfig config,
                                     LoopResources given, SessionListener listener, TlsSettings tls,
                                     SocketAccess access) {
        Loops loops = Loops.of(given, "migtunnel-src");
        Sinks.One<MuxSession> attached = Sinks.one();
        TcpClient client = TcpClient.newConnection()
            .runOn(loops.resources())
            .remoteAddress(() -> connect)
            .option(ChannelOption.AUTO_READ, false)
            .option(ChannelOption.ALLOCATOR, SessionChannels.ALLOCATOR);
        // With TLS, doOnConnected runs (and connect() emits) once the handshake has completed.
        return TlsSettings.secure(client, tls, config.handshakeTimeout())
            .doOnConnected(conn -> attached.tryEmitValue(
                SessionChannels.attach(conn, true, config, StreamAcceptor.REFUSE_ALL, listener)))
            .handle((in, out) -> Mono.never())
            .connect()
            .flatMap(conn -> attached.asMono().flatMap(session -> session.ready()
                    .then(Flux.fromIterable(exposes.entrySet())
                        .concatMap(e -> expose(session, e.getKey(), e.getValue(), loops, access))
                        .collectList())
                    .flatMap(servers -> unlessClosed(session, servers))
                    .<Tunnel>map(servers -> new SourceEndpoint(conn, session, servers, List.copyOf(exposes.values()),
                        loops, connect))
                    .doOnError(e -> {
                        session.close("start failed: " + e.getMessage());
                        conn.dispose();
                        exposes.values().forEach(SocketFiles::remove);
                    })))
            .doOnError(e -> loops.dispose());
    }

    /**
     * Fails (closing {@code servers}) when the session ended while they were being bound, e.g. the
     * destination refused it with GOAWAY right after HELLO; the session's end is already signalled.
     */
    private static Mono<List<DisposableServer>> unlessClosed(Session session, List<DisposableServer> servers) {
        Mono<List<DisposableServer>> ended = session.onClose()
            .then(Mono.error(() -> new IllegalStateException("session closed while starting")));
        return Mono.firstWithSignal(ended, Mono.just(servers))
            .doOnError(e -> servers.forEach(DisposableServer::dispose));
    }

    private static Mono<DisposableServer> expose(Session session, String name, Path socket, Loops loops,
                                                 SocketAccess access) {
        try {
            SocketFiles.prepareForBind(socket);
        } catch (IOException e) {
            return Mono.error(new UncheckedIOException("cannot expose '" + name + "' at " + socket + ": "
                + e.getMessage(), e));
        }
        return TcpServer.create()
            .runOn(loops.resources())
            .bindAddress(() -> new DomainSocketAddress(socket.toString()))
            .childOption(ChannelOption.AUTO_READ, false)
            .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
            .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, SessionChannels.LOCAL_WATER_MARK)
            .childOption(ChannelOption.RCVBUF_ALLOCATOR, SessionChannels.LOCAL_READS)
            .childOption(ChannelOption.ALLOCATOR, SessionChannels.ALLOCATOR)
            .doOnConnection(conn -> session.open(name).subscribe(
                stream -> conn.channel().eventLoop().execute(() -> LocalSocketBridge.join(conn.channel(), stream)),
                error -> {
                    log.warn("cannot open a stream for a connection on {}: {}", socket, error.getMessage());
                    conn.dispose();
                }))
            .handle((in, out) -> Mono.never())
            .bind()
            .map(server -> protect(server, name, socket, access));
    }

    /** Right after bind: the socket gets its mode and group, or the server is closed. */
    private static DisposableServer protect(DisposableServer server, String name, Path socket, SocketAccess access) {
        try {
            SocketFiles.protect(socket, access.mode(), access.group());
            return server;
        } catch (IOException | RuntimeException e) {
            server.dispose();
            SocketFiles.remove(socket);
            throw new UncheckedIOException("cannot set the mode or group of '" + name + "' at " + socket + ": "
                + e.getMessage(), e instanceof IOException io ? io : new IOException(e));
        }
    }

    @Override
    public InetSocketAddress address() {
        return address;
    }

    @Override
    public List<Session> sessions() {
        return isDisposed() ? List.of() : List.of(session);
    }

    @Override
    public Mono<MuxStream> openStream(String name) {
        return session.open(name);
    }

    @Override
    public Mono<Void> shutdown(Duration drain) {
        return Mono.defer(() -> {
            stopAccepting();
            return session.shutdown(drain);
        }).then(Mono.fromRunnable(this::dispose));
    }

    @Override
    public Mono<Void> onClose() {
        return closed;
    }

    @Override
    public void dispose() {
        // One loop task, in this order: once the session has closed, release() shuts the loop down.
        try {
            session.loop().execute(() -> {
                session.close("source disposed");
                connection.dispose();
            });
        } catch (RejectedExecutionException e) {
            // the session ended on its own and its loop, with the connection, is gone already
        }
        release();
    }

    @Override
    public boolean isDisposed() {
        return connection.isDisposed();
    }

    private void stopAccepting() {
        servers.forEach(DisposableServer::dispose);
        sockets.forEach(SocketFiles::remove);
    }

    private void release() {
        stopAccepting();
        loops.dispose();
    }
}
