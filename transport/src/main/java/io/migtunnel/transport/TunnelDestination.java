package io.migtunnel.transport;

import io.migtunnel.mux.SessionConfig;
import io.migtunnel.mux.SessionListener;
import io.migtunnel.protocol.StreamNames;
import io.migtunnel.transport.internal.DestinationEndpoint;
import java.net.InetSocketAddress;
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
 * Immutable: each method returns a new configuration.
 */
public final class TunnelDestination {
    private final InetSocketAddress listen;
    private final Map<String, Path> routes;
    private final SessionConfig config;
    private final LoopResources loops;
    private final SessionListener listener;

    private TunnelDestination(InetSocketAddress listen, Map<String, Path> routes, SessionConfig config,
                              LoopResources loops, SessionListener listener) {
        this.listen = listen;
        this.routes = Map.copyOf(routes);
        this.config = config;
        this.loops = loops;
        this.listener = listener;
    }

    /** A destination on an ephemeral loopback port with no routes and default limits. */
    public static TunnelDestination create() {
        return new TunnelDestination(new InetSocketAddress("127.0.0.1", 0), Map.of(), SessionConfig.defaults(),
            null, SessionListener.NONE);
    }

    /** The TCP address to listen on (port 0 picks a free port). */
    public TunnelDestination listen(InetSocketAddress address) {
        return new TunnelDestination(Objects.requireNonNull(address), routes, config, loops, listener);
    }

    /** Streams named {@code name} are joined to the UNIX socket at {@code socket}. */
    public TunnelDestination route(String name, Path socket) {
        StreamNames.requireValid(name);
        Map<String, Path> copy = new LinkedHashMap<>(routes);
        copy.put(name, Objects.requireNonNull(socket));
        return new TunnelDestination(listen, copy, config, loops, listener);
    }

    /** Session limits and timers. */
    public TunnelDestination config(SessionConfig sessionConfig) {
        return new TunnelDestination(listen, routes, Objects.requireNonNull(sessionConfig), loops, listener);
    }

    /** The event loops to run on; by default one dedicated loop thread. */
    public TunnelDestination runOn(LoopResources loopResources) {
        return new TunnelDestination(listen, routes, config, loopResources, listener);
    }

    /** Observes every session (logging, metrics). */
    public TunnelDestination listener(SessionListener sessionListener) {
        return new TunnelDestination(listen, routes, config, loops, Objects.requireNonNull(sessionListener));
    }

    /** Binds the listening socket; the Mono emits once it accepts connections. */
    public Mono<Tunnel> bind() {
        return DestinationEndpoint.bind(listen, routes, config, loops, listener);
    }

}
