package io.migtunnel.transport;

import io.migtunnel.mux.SessionConfig;
import io.migtunnel.mux.SessionListener;
import io.migtunnel.transport.internal.DestinationEndpoint;
import java.net.InetSocketAddress;
import io.migtunnel.protocol.StreamNames;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import reactor.core.publisher.Mono;
import reactor.netty.resources.LoopResources;

/**
 * The listening side of a tunnel. Every stream a source opens is routed by name to a local UNIX
 * socket, which the destination dials; an unknown name resets that stream alone.
 *
 * <pre>{@code
 * Tunnel t = TunnelDestination.create()
 *     .listen(new InetSocketAddress("0.0.0.0", 4444))
 *     .route("migration", Path.of("/run/qemu/migration.sock"))
 *     .bind().block();
 * }</pre>
 *
 * Without {@link #tls(TunnelTls)} the connection is plaintext: VM memory and disk contents cross
 * the network readable and unauthenticated. This API allows it on any address; the command line
 * refuses a non-loopback address without TLS unless {@code --insecure-plaintext} is given.
 *
 * <p>Immutable: each method returns a new configuration.
 */
public final class TunnelDestination {
    /** Default of {@link #maxSessions(int)}. */
    public static final int DEFAULT_MAX_SESSIONS = 16;
    /** Default of {@link #maxPendingHandshakes(int)}. */
    public static final int DEFAULT_MAX_PENDING_HANDSHAKES = 64;

    private final EndpointSpec spec;
    private final int maxSessions;
    private final int maxPendingHandshakes;
    private final Map<String, StreamHandler> handlers;

    private TunnelDestination(EndpointSpec spec, int maxSessions, int maxPendingHandshakes,
                              Map<String, StreamHandler> handlers) {
        this.spec = spec;
        this.maxSessions = maxSessions;
        this.maxPendingHandshakes = maxPendingHandshakes;
        this.handlers = Map.copyOf(handlers);
    }

    /** A destination on an ephemeral loopback port with no routes and default limits. */
    public static TunnelDestination create() {
        return new TunnelDestination(EndpointSpec.initial(new InetSocketAddress("127.0.0.1", 0)), DEFAULT_MAX_SESSIONS,
            DEFAULT_MAX_PENDING_HANDSHAKES, Map.of());
    }

    /** The TCP address to listen on (port 0 picks a free port). */
    public TunnelDestination listen(InetSocketAddress address) {
        return new TunnelDestination(spec.address(address), maxSessions, maxPendingHandshakes, handlers);
    }

    /** Streams named {@code name} are joined to the UNIX socket at {@code socket}. */
    public TunnelDestination route(String name, Path socket) {
        return new TunnelDestination(spec.socket(name, socket), maxSessions, maxPendingHandshakes, handlers);
    }

    /**
     * Streams named {@code name} are served by {@code handler} in this process (a control channel,
     * say) rather than dialled; it may add routes for the rest of its session.
     */
    public TunnelDestination handle(String name, StreamHandler handler) {
        StreamNames.requireValid(name);
        Map<String, StreamHandler> copy = new LinkedHashMap<>(handlers);
        copy.put(name, Objects.requireNonNull(handler, "handler"));
        return new TunnelDestination(spec, maxSessions, maxPendingHandshakes, copy);
    }

    /** Session limits and timers. */
    public TunnelDestination config(SessionConfig sessionConfig) {
        return new TunnelDestination(spec.config(sessionConfig), maxSessions, maxPendingHandshakes, handlers);
    }

    /** The event loops to run on; by default one dedicated loop thread. */
    public TunnelDestination runOn(LoopResources loopResources) {
        return new TunnelDestination(spec.loops(loopResources), maxSessions, maxPendingHandshakes, handlers);
    }

    /** Observes every session (logging, metrics). */
    public TunnelDestination listener(SessionListener sessionListener) {
        return new TunnelDestination(spec.listener(sessionListener), maxSessions, maxPendingHandshakes, handlers);
    }

    /**
     * At most {@code n} sessions at once (default {@value #DEFAULT_MAX_SESSIONS}): a connection
     * beyond it gets GOAWAY {@code REFUSED} ("too many sessions: limit n") and is closed; the
     * others are unaffected.
     */
    public TunnelDestination maxSessions(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("maxSessions must be at least 1, got " + n);
        }
        return new TunnelDestination(spec, n, maxPendingHandshakes, handlers);
    }

    /**
     * At most {@code n} connections at once that have connected but not finished the handshake
     * (TLS, then HELLO; default {@value #DEFAULT_MAX_PENDING_HANDSHAKES}): one more is closed at
     * once, with a WARN naming {@code maxPendingHandshakes}. A pending connection is dropped after
     * {@link SessionConfig#handshakeTimeout()} (once for TLS, once for HELLO).
     */
    public TunnelDestination maxPendingHandshakes(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("maxPendingHandshakes must be at least 1, got " + n);
        }
        return new TunnelDestination(spec, maxSessions, n, handlers);
    }

    /**
     * Mutual TLS 1.3: only sources presenting a certificate signed by the CA of {@code tls} get a
     * session; others are dropped during the handshake, as is a peer that does not complete it
     * within {@link SessionConfig#handshakeTimeout()}. With {@link TunnelTls#allowSubjects}, a
     * source whose certificate is not allowed gets GOAWAY {@code REFUSED} right after the handshake.
     */
    public TunnelDestination tls(TunnelTls tls) {
        return new TunnelDestination(spec.tls(tls), maxSessions, maxPendingHandshakes, handlers);
    }

    /** Binds the listening socket; the Mono emits once it accepts connections. */
    public Mono<Tunnel> bind() {
        return DestinationEndpoint.bind(spec.address(), spec.sockets(), spec.config(), spec.loops(), spec.listener(),
            spec.tls() == null ? null : spec.tls().forDestination(), maxSessions, maxPendingHandshakes, handlers);
    }
}
