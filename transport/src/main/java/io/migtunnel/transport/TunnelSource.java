package io.migtunnel.transport;

import io.migtunnel.mux.SessionConfig;
import io.migtunnel.mux.SessionListener;
import io.migtunnel.protocol.StreamNames;
import io.migtunnel.transport.internal.SocketAccess;
import io.migtunnel.transport.internal.SocketFiles;
import io.migtunnel.transport.internal.SourceEndpoint;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
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
 * Without {@link #tls(TunnelTls)} the connection is plaintext (see {@link TunnelDestination}).
 *
 * <p>Immutable: each method returns a new configuration.
 */
public final class TunnelSource {
    private final EndpointSpec spec;
    private final SocketAccess access;
    private final boolean reconnect;
    /** Per exposed name: the name of the streams its connections open while an earlier one is open. */
    private final Map<String, String> concurrentNames;

    private TunnelSource(EndpointSpec spec, SocketAccess access) {
        this(spec, access, false, Map.of());
    }

    private TunnelSource(EndpointSpec spec, SocketAccess access, boolean reconnect, Map<String, String> concurrentNames) {
        this.spec = spec;
        this.access = access;
        this.reconnect = reconnect;
        this.concurrentNames = Map.copyOf(concurrentNames);
    }


    /** A source with nothing exposed and default limits; set {@link #connect} before starting. */
    public static TunnelSource create() {
        return new TunnelSource(EndpointSpec.initial(null), SocketAccess.OWNER_ONLY);
    }

    /** The destination's TCP address. */
    public TunnelSource connect(InetSocketAddress address) {
        return new TunnelSource(spec.address(address), access, reconnect, concurrentNames);
    }

    /** Listens on {@code socket}; each connection there opens a stream named {@code name}. */
    public TunnelSource expose(String name, Path socket) {
        Map<String, String> names = new LinkedHashMap<>(concurrentNames);
        names.remove(name);
        return new TunnelSource(spec.socket(name, socket), access, reconnect, names);
    }

    /**
     * Listens on {@code socket}; a connection there opens a stream named {@code name} when no earlier
     * connection there is still open, else one named {@code concurrentName}. For a client that tells
     * its connections apart only by their order: QEMU's postcopy-preempt channel is its second
     * connection to the migration socket, made while the first is open, and needs its own urgency.
     * The streams open in the order the connections were accepted.
     */
    public TunnelSource expose(String name, Path socket, String concurrentName) {
        StreamNames.requireValid(concurrentName);
        Map<String, String> names = new LinkedHashMap<>(concurrentNames);
        names.put(name, concurrentName);
        return new TunnelSource(spec.socket(name, socket), access, reconnect, names);
    }

    /** Session limits and timers. */
    public TunnelSource config(SessionConfig sessionConfig) {
        return new TunnelSource(spec.config(sessionConfig), access, reconnect, concurrentNames);
    }

    /** The event loops to run on; by default one dedicated loop thread. */
    public TunnelSource runOn(LoopResources loopResources) {
        return new TunnelSource(spec.loops(loopResources), access, reconnect, concurrentNames);
    }

    /** Observes the session (logging, metrics). */
    public TunnelSource listener(SessionListener sessionListener) {
        return new TunnelSource(spec.listener(sessionListener), access, reconnect, concurrentNames);
    }

    /**
     * Mutual TLS 1.3: the source presents the certificate of {@code tls} and accepts only a
     * destination certificate signed by its CA (hostname verification: see {@link TunnelTls}).
     */
    public TunnelSource tls(TunnelTls tls) {
        return new TunnelSource(spec.tls(tls), access, reconnect, concurrentNames);
    }

    /**
     * The mode of the exposed sockets, applied right after each is bound; default {@code 0600}
     * (only this user may connect). QEMU must run as this user, or in {@link #socketGroup} with
     * a mode such as {@code 0660}. It does not widen a libvirt socket: see {@link #socketMode(String, Set)}.
     */
    public TunnelSource socketMode(Set<PosixFilePermission> mode) {
        return new TunnelSource(spec, access.withMode(mode), reconnect, concurrentNames);
    }

    /** {@link #socketMode(Set)} from an octal string such as {@code "0660"}. */
    public TunnelSource socketMode(String octal) {
        return socketMode(SocketFiles.parseMode(octal));
    }

    /**
     * The mode of the socket exposed as {@code name} alone, instead of {@link #socketMode(Set)}.
     * A libvirt socket ({@link LibvirtSockets#isLibvirtName}) gets a mode wider than owner-only
     * only this way: {@link #start()} fails with {@link LibvirtSocketModeException} when the mode
     * for all sockets would widen it.
     */
    public TunnelSource socketMode(String name, Set<PosixFilePermission> mode) {
        return new TunnelSource(spec, access.withModeFor(StreamNames.requireValid(name), mode), reconnect,
            concurrentNames);
    }

    /** {@link #socketMode(String, Set)} from an octal string such as {@code "0660"}. */
    public TunnelSource socketMode(String name, String octal) {
        return socketMode(name, SocketFiles.parseMode(octal));
    }

    /** The group of the exposed sockets (by name); by default the user's primary group. */
    public TunnelSource socketGroup(String group) {
        return new TunnelSource(spec, access.withGroup(group), reconnect, concurrentNames);
    }

    /**
     * With {@code true}, a session lost after the start (a TCP reset, the destination restarting,
     * a keepalive timeout) does not end the source: it keeps its exposed sockets and connects
     * again, waiting 100 ms doubling to 5 s between attempts, and serves new connections on the
     * new session; {@link Tunnel#onClose()} then completes only on shutdown or dispose. Streams of
     * the lost session fail. Default {@code false}: the source ends with its session.
     */
    public TunnelSource reconnect(boolean enabled) {
        return new TunnelSource(spec, access, enabled, concurrentNames);
    }

    /**
     * Connects, completes the TLS handshake (if configured) and the session handshake, then
     * creates the exposed sockets; the Mono emits once they accept connections and fails if any
     * step does, e.g. when a socket's directory is world-writable without the sticky bit. It fails
     * before connecting when a mode is given for a name not exposed, or with
     * {@link LibvirtSocketModeException} when a libvirt socket would not be owner-only.
     */
    public Mono<Tunnel> start() {
        if (spec.address() == null) {
            return Mono.error(new IllegalStateException("no destination address: call connect() first"));
        }
        for (String named : access.modesByName().keySet()) {
            if (!spec.sockets().containsKey(named)) {
                return Mono.error(new IllegalStateException("a socket mode is given for '" + named
                    + "', which is not exposed (exposed: " + spec.sockets().keySet() + ")"));
            }
        }
        try {
            LibvirtSockets.requireOwnerOnlyUnlessNamed(spec.sockets(), access);
        } catch (LibvirtSocketModeException e) {
            return Mono.error(e);
        }
        return SourceEndpoint.start(spec.address(), spec.sockets(), concurrentNames, spec.config(), spec.loops(),
            spec.listener(), spec.tls() == null ? null : spec.tls().forSource(), access, reconnect);
    }
}
