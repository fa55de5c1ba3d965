package io.migtunnel.transport;

import io.migtunnel.mux.SessionConfig;
import io.migtunnel.mux.SessionListener;
import io.migtunnel.protocol.StreamNames;
import io.migtunnel.transport.internal.SourceEndpoint;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import reactor.core.publisher.Mono;
import reactor.netty.resources.LoopResources;

/**
 * The connecting side of a tunnel. It connects once, and when the session is up it listens on
 * each exposed UNIX socket; every connection accepted there opens a new stream with that name.
 *
 * <pre>{@code
 * Tunnel t = TunnelSource.create()
 *     .connect(new InetSocketAddress("dest", 4444))
 *     .expose("migration", Path.of("/run/migtunnel/migration.sock"))
 *     .start().block();
 * }</pre>
 *
 * Immutable: each method returns a new configuration.
 */
public final class TunnelSource {
    private final InetSocketAddress connect;
    private final Map<String, Path> exposes;
    private final SessionConfig config;
    private final LoopResources loops;
    private final SessionListener listener;

    private TunnelSource(InetSocketAddress connect, Map<String, Path> exposes, SessionConfig config,
                         LoopResources loops, SessionListener listener) {
        this.connect = connect;
        this.exposes = Map.copyOf(exposes);
        this.config = config;
        this.loops = loops;
        this.listener = listener;
    }

    /** A source with nothing exposed and default limits; set {@link #connect} before starting. */
    public static TunnelSource create() {
        return new TunnelSource(null, Map.of(), SessionConfig.defaults(), null, SessionListener.NONE);
    }

    /** The destination's TCP address. */
    public TunnelSource connect(InetSocketAddress address) {
        return new TunnelSource(Objects.requireNonNull(address), exposes, config, loops, listener);
    }

    /** Listens on {@code socket}; each connection there opens a stream named {@code name}. */
    public TunnelSource expose(String name, Path socket) {
        StreamNames.requireValid(name);
        Map<String, Path> copy = new LinkedHashMap<>(exposes);
        copy.put(name, Objects.requireNonNull(socket));
        return new TunnelSource(connect, copy, config, loops, listener);
    }

    /** Session limits and timers. */
    public TunnelSource config(SessionConfig sessionConfig) {
        return new TunnelSource(connect, exposes, Objects.requireNonNull(sessionConfig), loops, listener);
    }

    /** The event loops to run on; by default one dedicated loop thread. */
    public TunnelSource runOn(LoopResources loopResources) {
        return new TunnelSource(connect, exposes, config, loopResources, listener);
    }

    /** Observes the session (logging, metrics). */
    public TunnelSource listener(SessionListener sessionListener) {
        return new TunnelSource(connect, exposes, config, loops, Objects.requireNonNull(sessionListener));
    }

    /**
     * Connects, completes the handshake, then creates the exposed sockets; the Mono emits once
     * they accept connections and fails if any step does.
     */
    public Mono<Tunnel> start() {
        if (connect == null) {
            return Mono.error(new IllegalStateException("no destination address: call connect() first"));
        }
        return SourceEndpoint.start(connect, exposes, config, loops, listener);
    }
}
