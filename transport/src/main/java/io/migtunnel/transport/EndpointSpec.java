package io.migtunnel.transport;

import io.migtunnel.mux.SessionConfig;
import io.migtunnel.mux.SessionListener;
import io.migtunnel.protocol.StreamNames;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import reactor.netty.resources.LoopResources;

/**
 * What both endpoint builders configure: the TCP address, the named UNIX sockets (routes on a
 * destination, exposed sockets on a source), limits, loops, listener and TLS (null: plaintext).
 * Immutable.
 */
record EndpointSpec(InetSocketAddress address, Map<String, Path> sockets, SessionConfig config,
                    LoopResources loops, SessionListener listener, TunnelTls tls) {

    EndpointSpec {
        sockets = Map.copyOf(sockets);
    }

    static EndpointSpec initial(InetSocketAddress address) {
        return new EndpointSpec(address, Map.of(), SessionConfig.defaults(), null, SessionListener.NONE, null);
    }

    EndpointSpec address(InetSocketAddress value) {
        return new EndpointSpec(Objects.requireNonNull(value), sockets, config, loops, listener, tls);
    }

    EndpointSpec socket(String name, Path path) {
        StreamNames.requireValid(name);
        Map<String, Path> copy = new LinkedHashMap<>(sockets);
        copy.put(name, Objects.requireNonNull(path));
        return new EndpointSpec(address, copy, config, loops, listener, tls);
    }

    EndpointSpec config(SessionConfig value) {
        return new EndpointSpec(address, sockets, Objects.requireNonNull(value), loops, listener, tls);
    }

    EndpointSpec loops(LoopResources value) {
        return new EndpointSpec(address, sockets, config, value, listener, tls);
    }

    EndpointSpec listener(SessionListener value) {
        return new EndpointSpec(address, sockets, config, loops, Objects.requireNonNull(value), tls);
    }

    EndpointSpec tls(TunnelTls value) {
        return new EndpointSpec(address, sockets, config, loops, listener, Objects.requireNonNull(value));
    }
}
