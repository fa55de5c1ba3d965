package io.migtunnel.transport.internal;

import io.migtunnel.mux.Session;
import io.migtunnel.mux.SessionConfig;
import io.migtunnel.mux.SessionListener;
import io.migtunnel.mux.internal.MuxSession;
import io.migtunnel.mux.internal.SessionDirectory;
import io.migtunnel.transport.StreamHandler;
import io.migtunnel.transport.Tunnel;
import io.netty.channel.ChannelOption;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.tcp.TcpServer;

/**
 * A listening destination: one session per accepted source connection, up to a limit. A
 * connection beyond the limit, or whose certificate is not allowed, gets HELLO then GOAWAY
 * {@code REFUSED} and is closed. Connections still in their handshake are bounded too
 * ({@link PendingHandshakes}).
 */
public final class DestinationEndpoint implements Tunnel {
    private static final Logger log = LoggerFactory.getLogger(DestinationEndpoint.class);
    private final DisposableServer server;
    private final Set<MuxSession> sessions;
    private final Loops loops;
    private final PendingHandshakes pending;

    private DestinationEndpoint(DisposableServer server, Set<MuxSession> sessions, Loops loops,
                                PendingHandshakes pending) {
        this.server = server;
        this.sessions = sessions;
        this.loops = loops;
        this.pending = pending;
        server.onDispose().subscribe(null, e -> loops.dispose(), loops::dispose);
    }

    /**
     * Binds and returns the running endpoint; {@code tls} null means plaintext; at most
     * {@code maxSessions} sessions and {@code maxPendingHandshakes} connections still in their
     * handshake at once; streams named as a key of {@code handlers} are served in process.
     */
    public static Mono<Tunnel> bind(InetSocketAddress listen, Map<String, Path> routes, SessionConfig config,
                                    reactor.netty.resources.LoopResources given, SessionListener listener,
                                    TlsSettings tls, int maxSessions, int maxPendingHandshakes,
                                    Map<String, StreamHandler> handlers) {
        if (maxSessions < 1) {
            throw new IllegalArgumentException("maxSessions must be at least 1, got " + maxSessions);
        }
        PendingHandshakes pending = new PendingHandshakes(maxPendingHandshakes);
        Loops loops = Loops.of(given, "migtunnel-dst");
        Set<MuxSession> sessions = ConcurrentHashMap.newKeySet();
        AtomicInteger admitted = new AtomicInteger();
        TcpServer tcp = TcpServer.create()
            .runOn(loops.resources())
            .bindAddress(() -> listen)
            .childOption(ChannelOption.AUTO_READ, false)
            .childOption(ChannelOption.ALLOCATOR, SessionChannels.ALLOCATOR)
            .doOnChannelInit((observer, channel, remote) -> pending.admit(channel));
        SessionDirectory directory = config.resumable() ? new SessionDirectory() : null;
        // With TLS, doOnConnection runs once the handshake has completed.
        return TlsSettings.secure(tcp, tls, config.handshakeTimeout())
            .doOnConnection(conn -> {
                String refusal = tls == null ? null : PeerSubjects.refusal(conn.channel(), tls.allowSubjects());
                if (refusal != null) {
                    log.warn("refusing session from {}: {}", conn.channel().remoteAddress(), refusal);
                }
                RouteAcceptor acceptor = new RouteAcceptor(refusal == null ? routes : Map.of(),
                    refusal == null ? handlers : Map.of(), loops,
                    conn.channel().eventLoop());
                MuxSession session = SessionChannels.attach(conn, false, config, acceptor, listener, directory);
                // A connection that resumes a session is never ready itself: it counts as a pending
                // handshake until it has handed over, and never against the session limit.
                session.ready().subscribe(null, e -> pending.done(conn.channel()), () -> {
                    pending.done(conn.channel());
                    admit(session, conn.channel().remoteAddress(), admitted, maxSessions, sessions);
                });
                if (refusal != null) {
                    session.refuse(refusal);
                }
            })
            .handle((in, out) -> Mono.never())
            .bind()
            .<Tunnel>map(server -> new DestinationEndpoint(server, sessions, loops, pending))
            .doOnError(e -> loops.dispose());
    }

    /**
     * A new session, on its loop as its handshake completes (before any OPEN is read): counted, or
     * refused when {@code maxSessions} are up already.
     */
    private static void admit(MuxSession session, Object remote, AtomicInteger admitted, int maxSessions,
                              Set<MuxSession> sessions) {
        if (admitted.incrementAndGet() > maxSessions) {
            admitted.decrementAndGet();
            String refusal = "too many sessions: limit " + maxSessions;
            log.warn("refusing session from {}: {} (maxSessions)", remote, refusal);
            session.refuse(refusal);
            return;
        }
        sessions.add(session);
        Runnable left = () -> {
            sessions.remove(session);
            admitted.decrementAndGet();
        };
        session.onClose().subscribe(null, e -> left.run(), left);
    }

    @Override
    public InetSocketAddress address() {
        return (InetSocketAddress) server.address();
    }

    @Override
    public Mono<Void> shutdown(Duration drain) {
        return Mono.defer(() -> {
            List<Mono<Void>> closing = new ArrayList<>();
            for (Session s : sessions) {
                closing.add(s.shutdown(drain));
            }
            return Flux.merge(closing).then();
        }).then(Mono.fromRunnable(this::dispose));
    }

    @Override
    public Mono<Void> onClose() {
        return server.onDispose();
    }

    @Override
    public void dispose() {
        for (Session s : sessions) {
            s.close("destination disposed");
        }
        server.dispose();
    }

    @Override
    public boolean isDisposed() {
        return server.isDisposed();
    }

    @Override
    public int pendingHandshakes() {
        return pending.pending();
    }

    @Override
    public List<Session> sessions() {
        return List.copyOf(sessions);
    }
}
