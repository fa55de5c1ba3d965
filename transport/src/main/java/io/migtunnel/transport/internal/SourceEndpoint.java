package io.migtunnel.transport.internal;

import io.migtunnel.mux.MuxStream;
import io.migtunnel.mux.Session;
import io.migtunnel.mux.SessionClosedException;
import io.migtunnel.mux.SessionConfig;
import io.migtunnel.mux.SessionListener;
import io.migtunnel.mux.StreamAcceptor;
import io.migtunnel.mux.internal.Link;
import io.migtunnel.mux.internal.MuxSession;
import io.migtunnel.protocol.ErrorCode;
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
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.netty.Connection;
import reactor.netty.DisposableServer;
import reactor.netty.resources.LoopResources;
import reactor.netty.tcp.TcpClient;
import reactor.netty.tcp.TcpServer;

/**
 * A connected source: one session at a time, one listening UNIX socket per exposed name. When
 * asked to reconnect, a lost connection does not end the source: it connects again, with
 * backoff, and resumes the session when both sides keep sessions (its streams and local sockets
 * never notice); otherwise, or when the resume is refused, it keeps its sockets and starts a new
 * session (connections made meanwhile are closed).
 */
public final class SourceEndpoint implements Tunnel {
    private static final Logger log = LoggerFactory.getLogger(SourceEndpoint.class);
    /** How often the exposed socket files are checked for having been replaced. */
    static final Duration SOCKET_CHECK_INTERVAL = Duration.ofSeconds(2);
    /** Reconnect backoff: the first wait, doubled per failed attempt up to {@link #MAX_BACKOFF}, ±20% jitter. */
    static final Duration FIRST_BACKOFF = Duration.ofMillis(100);
    static final Duration MAX_BACKOFF = Duration.ofSeconds(5);

    /** Opens a connection and its session, and waits until the session is ready. */
    private final Supplier<Mono<Attached>> connector;
    /** Connects again under a disconnected session and resumes it; emits the new connection. */
    private final Function<MuxSession, Mono<Connection>> resumer;
    private final CurrentLink current;
    private final boolean reconnect;
    private final List<ExposedSocket> sockets;
    private final Loops loops;
    private final InetSocketAddress address;
    private final ScheduledFuture<?> watch;
    private final Sinks.Empty<Void> closedSink = Sinks.empty();
    private volatile boolean disposed;
    private volatile Disposable pendingAttempt;

    /** A session and the connection under it. */
    record Attached(Connection connection, MuxSession session) {
    }

    /**
     * The link of the moment, or null while reconnecting; counts the local connections closed
     * meanwhile, so that an outage logs one line for them, not one per connection.
     */
    static final class CurrentLink extends AtomicReference<Attached> {
        private final AtomicLong refused = new AtomicLong();

        /** A connection on {@code socket} found no session and is closed: logged for the first of an outage. */
        void refused(Path socket) {
            if (refused.getAndIncrement() == 0) {
                log.warn("connection on {} closed: no tunnel session (reconnecting); further ones are counted", socket);
            }
        }

        /** How many connections were closed since the last call. */
        long takeRefused() {
            return refused.getAndSet(0);
        }
    }

    private SourceEndpoint(Supplier<Mono<Attached>> connector, Function<MuxSession, Mono<Connection>> resumer,
                           CurrentLink current, boolean reconnect,
                           List<ExposedSocket> sockets, Loops loops, InetSocketAddress address) {
        this.connector = connector;
        this.resumer = resumer;
        this.current = current;
        this.reconnect = reconnect;
        this.sockets = List.copyOf(sockets);
        this.loops = loops;
        this.address = address;
        long every = SOCKET_CHECK_INTERVAL.toNanos();
        this.watch = current.get().session().loop().scheduleAtFixedRate(
            () -> this.sockets.forEach(s -> s.reportIfReplaced(log)), every, every, TimeUnit.NANOSECONDS);
        follow(current.get());
    }

    /**
     * Connects, waits for the handshakes, binds the exposed sockets with {@code access} (a connection
     * on one named in {@code concurrentNames} made while an earlier one there is open opens a
     * stream of the name it maps to);
     * {@code tls} null means plaintext. A lost connection is resumed when {@code config} keeps
     * sessions ({@link SessionConfig#resumable()}) and the destination does too. With
     * {@code reconnect}, a session that ends later (not resumed) is replaced by a new one instead
     * of ending the source; the first connection must succeed.
     */
    public static Mono<Tunnel> start(InetSocketAddress connect, Map<String, Path> exposes,
                                     Map<String, String> concurrentNames, SessionConfig config, LoopResources given,
                                     SessionListener listener, TlsSettings tls, SocketAccess access,
                                     boolean reconnect) {
        Loops loops = Loops.of(given, "migtunnel-src");
        Supplier<Mono<Attached>> connector = () -> connectOnce(connect, config, loops, listener, tls);
        Function<MuxSession, Mono<Connection>> resumer = session -> resumeOnce(connect, session, loops, tls);
        CurrentLink current = new CurrentLink();
        List<ExposedSocket> created = new CopyOnWriteArrayList<>();
        return connector.get()
            .flatMap(link -> {
                current.set(link);
                return Flux.fromIterable(exposes.entrySet())
                    .concatMap(e -> expose(current, e.getKey(), concurrentNames.getOrDefault(e.getKey(), e.getKey()),
                        e.getValue(), loops, access))
                    .doOnNext(created::add)
                    .collectList()
                    .flatMap(bound -> unlessClosed(link.session(), bound))
                    .<Tunnel>map(bound -> new SourceEndpoint(connector, resumer, current, reconnect, bound, loops,
                        connect))
                    .doOnError(e -> {
                        link.session().close("start failed: " + e.getMessage());
                        link.connection().dispose();
                        created.forEach(socket -> socket.close(log)); // only what this start bound
                    });
            })
            .doOnError(e -> loops.dispose());
    }

    /** One connection (TLS if configured) and its session, once the peer's HELLO was accepted. */
    private static Mono<Attached> connectOnce(InetSocketAddress connect, SessionConfig config, Loops loops,
                                          SessionListener listener, TlsSettings tls) {
        return Mono.defer(() -> {
            Sinks.One<MuxSession> attached = Sinks.one();
            // With TLS, doOnConnected runs (and connect() emits) once the handshake has completed.
            return TlsSettings.secure(tunnelClient(connect, config, loops), tls, config.handshakeTimeout())
                .doOnConnected(conn -> attached.tryEmitValue(
                    SessionChannels.attach(conn, true, config, StreamAcceptor.REFUSE_ALL, listener, null)))
                .handle((in, out) -> Mono.never())
                .connect()
                .flatMap(conn -> attached.asMono().flatMap(session -> session.ready()
                    .thenReturn(new Attached(conn, session))
                    .doOnError(e -> conn.dispose())));
        });
    }

    /** A new connection under {@code session}, which resumes on it; emits the connection once it has. */
    private static Mono<Connection> resumeOnce(InetSocketAddress connect, MuxSession session, Loops loops,
                                               TlsSettings tls) {
        return Mono.defer(() -> {
            Sinks.One<Link> attached = Sinks.one();
            return TlsSettings.secure(tunnelClient(connect, session.config(), loops), tls,
                    session.config().handshakeTimeout())
                .doOnConnected(conn -> attached.tryEmitValue(SessionChannels.resume(conn, session)))
                .handle((in, out) -> Mono.never())
                .connect()
                .flatMap(conn -> attached.asMono().flatMap(link -> link.resumed()
                    .thenReturn(conn)
                    .doOnError(e -> conn.dispose())));
        });
    }

    /** Tunnel connections: auto-read off until the codec is in place; connected within the handshake timeout. */
    private static TcpClient tunnelClient(InetSocketAddress connect, SessionConfig config, Loops loops) {
        return TcpClient.newConnection()
            .runOn(loops.resources())
            .remoteAddress(() -> connect)
            .option(ChannelOption.AUTO_READ, false)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) config.handshakeTimeout().toMillis())
            .option(ChannelOption.ALLOCATOR, SessionChannels.ALLOCATOR);
    }

    /**
     * Watches {@code link}'s session: a lost connection starts resuming it; its end ends the
     * source, or starts reconnecting to a new session.
     */
    private void follow(Attached link) {
        MuxSession session = link.session();
        session.onClose().subscribe(null, e -> lost(session, e), () -> lost(session, null));
        session.disconnects().subscribe(why -> disconnected(session, why));
    }

    /** The session's connection is gone; the session waits for this side to resume it. */
    private void disconnected(MuxSession session, String why) {
        if (!disposed) {
            resumeAttempt(session, 1); // the session's listener has logged the loss and its cause
        }
    }

    private void resumeAttempt(MuxSession session, int n) {
        pendingAttempt = Mono.delay(backoff(n)).then(resumer.apply(session)).subscribe(conn -> {
            if (disposed) {
                conn.dispose();
                return;
            }
            Attached now = current.get();
            if (now != null && now.session() == session) {
                current.compareAndSet(now, new Attached(conn, session));
            }
            if (n > 1) {
                log.info("resumed the session to {} at attempt {}", address, n);
            }
        }, e -> {
            if (disposed || session.isClosed()) {
                return; // the session ended (refused, or its grace period passed): lost() takes over
            }
            if (n == 1 || n % 10 == 0) {
                log.info("resume attempt {} to {} failed: {}; retrying", n, address, e.getMessage());
            }
            resumeAttempt(session, n + 1);
        });
    }

    private void lost(MuxSession session, Throwable cause) {
        Attached link = current.get();
        if (link == null || link.session() != session || !current.compareAndSet(link, null)) {
            return;
        }
        if (disposed || !reconnect) {
            finish(disposed ? null : cause);
            return;
        }
        log.warn("tunnel session to {} lost ({}); reconnecting, exposed sockets stay open", address,
            cause == null ? "closed by the peer" : cause.getMessage());
        attempt(1, System.nanoTime());
    }

    private void attempt(int n, long lostAt) {
        Duration wait = backoff(n);
        pendingAttempt = Mono.delay(wait).then(connector.get()).subscribe(link -> {
            if (disposed) {
                link.session().close("source disposed");
                link.connection().dispose();
                return;
            }
            current.set(link);
            log.info("reconnected to {} after {} attempt(s), {} ms without a session: a new session ({} local "
                + "connection(s) closed meanwhile)", address, n, Duration.ofNanos(System.nanoTime() - lostAt).toMillis(),
                current.takeRefused());
            follow(link);
        }, e -> {
            if (disposed) {
                return;
            }
            if (n == 1 || n % 10 == 0) {
                log.info("reconnect attempt {} to {} failed: {}; retrying", n, address, e.getMessage());
            }
            attempt(n + 1, lostAt);
        });
    }

    /** The wait before attempt {@code n}: 100 ms doubling to 5 s, each ±20%. */
    static Duration backoff(int n) {
        long base = Math.min(MAX_BACKOFF.toMillis(), FIRST_BACKOFF.toMillis() << Math.min(n - 1, 20));
        double jitter = 0.8 + 0.4 * ThreadLocalRandom.current().nextDouble();
        return Duration.ofMillis((long) (base * jitter));
    }

    private void finish(Throwable cause) {
        disposed = true;
        release();
        if (cause == null) {
            closedSink.tryEmitEmpty();
        } else {
            closedSink.tryEmitError(cause);
        }
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

    /** Binds {@code socket}; a connection there opens {@code name}, or {@code concurrentName} while another is open. */
    private static Mono<ExposedSocket> expose(CurrentLink current, String name, String concurrentName, Path socket,
                                              Loops loops, SocketAccess access) {
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
        AtomicInteger open = new AtomicInteger(); // this socket's connections now open
        return TcpServer.create()
            .runOn(loops.resources())
            .bindAddress(() -> new DomainSocketAddress(bindAt.toString()))
            .childOption(ChannelOption.AUTO_READ, false)
            .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
            .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, SessionChannels.LOCAL_WATER_MARK)
            .childOption(ChannelOption.RCVBUF_ALLOCATOR, SessionChannels.LOCAL_READS)
            .childOption(ChannelOption.ALLOCATOR, SessionChannels.ALLOCATOR)
            .doOnConnection(conn -> {
                Attached link = current.get();
                if (link == null) {
                    current.refused(socket);
                    conn.dispose();
                    return;
                }
                String stream = open.getAndIncrement() == 0 ? name : concurrentName;
                conn.onDispose(open::decrementAndGet);
                link.session().open(stream).subscribe(
                    opened -> conn.channel().eventLoop().execute(() -> LocalSocketBridge.join(conn.channel(), opened)),
                    error -> {
                        log.warn("cannot open a stream for a connection on {}: {}", socket, error.getMessage());
                        conn.dispose();
                    });
            })
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
            SocketFiles.protect(boundAt, access.modeOf(name), access.group());
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
        Attached link = current.get();
        return link == null || disposed ? List.of() : List.of(link.session());
    }

    @Override
    public Mono<MuxStream> openStream(String name) {
        Attached link = current.get();
        return link == null ? Mono.error(new SessionClosedException(ErrorCode.REFUSED,
            "no tunnel session to " + address + " (reconnecting)")) : link.session().open(name);
    }

    @Override
    public Mono<Void> shutdown(Duration drain) {
        return Mono.defer(() -> {
            disposed = true;
            stopAccepting();
            Attached link = current.get();
            return link == null ? Mono.<Void>empty() : link.session().shutdown(drain);
        }).then(Mono.fromRunnable(this::dispose));
    }

    @Override
    public Mono<Void> onClose() {
        return closedSink.asMono();
    }

    @Override
    public void dispose() {
        disposed = true;
        Disposable attempt = pendingAttempt;
        if (attempt != null) {
            attempt.dispose();
        }
        Attached link = current.getAndSet(null);
        if (link != null) {
            // One loop task, in this order: the session closes, then its connection.
            try {
                link.session().loop().execute(() -> {
                    link.session().close("source disposed");
                    link.connection().dispose();
                });
            } catch (RejectedExecutionException e) {
                // the loop, with the connection, is gone already
            }
        }
        finish(null);
    }

    @Override
    public boolean isDisposed() {
        return disposed;
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
