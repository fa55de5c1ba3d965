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
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
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
    /** How often the exposed socket files are checked for having been replaced. */
    static final Duration SOCKET_CHECK_INTERVAL = Duration.ofSeconds(2);
    private final List<ExposedSocket> sockets;
    private final Loops loops;
    private final InetSocketAddress address;
    private final ScheduledFuture<?> watch;
    private final Mono<Void> closed;

    private SourceEndpoint(Connection connection, MuxSession session, List<ExposedSocket> sockets, Loops loops,
                           InetSocketAddress address) {
        this.connection = connection;
        this.session = session;
        this.sockets = List.copyOf(sockets);
        this.loops = loops;
        this.address = address;
        long every = SOCKET_CHECK_INTERVAL.toNanos();
        this.watch = session.loop().scheduleAtFixedRate(() -> this.sockets.forEach(s -> s.reportIfReplaced(log)),
            every, every, TimeUnit.NANOSECONDS);
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
            .flatMap(conn -> {
                List<ExposedSocket> created = new CopyOnWriteArrayList<>();
                return attached.asMono().flatMap(session -> session.ready()
                    .then(Flux.fromIterable(exposes.entrySet())
                        .concatMap(e -> expose(session, e.getKey(), e.getValue(), loops, access))
                        .doOnNext(created::add)
                        .collectList())
                    .flatMap(sockets -> unlessClosed(session, sockets))
                    .<Tunnel>map(sockets -> new SourceEndpoint(conn, session, sockets, loops, connect))
                    .doOnError(e -> {
                        session.close("start failed: " + e.getMessage());
                        conn.dispose();
                        created.forEach(socket -> socket.close(log)); // only what this start bound
                    }));
            })
            .doOnError(e -> loops.dispose());
    }

    /**
     * Fails when the session ended while the sockets were being bound, e.g. the destination
     * refused it with GOAWAY right after HELLO; the session's end is already signalled.
     */
    private static Mono<List<ExposedSocket>> unlessClosed(Session session, List<ExposedSocket> sockets) {
        Mono<List<ExposedSocket>> ended = session.onClose()
            .then(Mono.error(() -> new IllegalStateException("session closed while starting")));
        return Mono.firstWithSignal(ended, Mono.just(sockets));
    }

    private static Mono<ExposedSocket> expose(Session session, String name, Path socket, Loops loops,
                                                 SocketAccess access) {
        try {
            SocketFiles.prepareForBind(socket);
        } catch (IOException e) {
            return Mono.error(new UncheckedIOException("cannot expose '" + name + "' at " + socket + ": "
                + e.getMessage(), e));
        }
        // Bound at a temporary name, given its mode, then renamed into place: the path never shows a
        // socket with the wrong mode, and Netty, which deletes the path it bound when it closes,
        // deletes only the temporary name, never a file another process has put at the path since.
        Path bindAt = SocketFiles.temporaryName(socket);
        return TcpServer.create()
            .runOn(loops.resources())
            .bindAddress(() -> new DomainSocketAddress(bindAt.toString()))
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
            .map(server -> protect(server, name, bindAt, socket, access));
    }

    /**
     * Right after bind: the socket gets its mode and group, moves from {@code boundAt} to
     * {@code socket} and is remembered there; or the server is closed.
     */
    private static ExposedSocket protect(DisposableServer server, String name, Path boundAt, Path socket,
                                         SocketAccess access) {
        try {
            SocketFiles.protect(boundAt, access.mode(), access.group());
            Files.move(boundAt, socket, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return ExposedSocket.bound(name, socket, server);
        } catch (IOException | RuntimeException e) {
            server.dispose();
            SocketFiles.remove(boundAt);
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
        watch.cancel(false);
        sockets.forEach(socket -> socket.close(log));
    }

    private void release() {
        stopAccepting();
        loops.dispose();
    }
}
