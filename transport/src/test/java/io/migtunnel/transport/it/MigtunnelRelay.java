package io.migtunnel.transport.it;

import io.migtunnel.testing.relay.SocketRelay;
import io.migtunnel.transport.Tunnel;
import io.migtunnel.transport.TunnelDestination;
import io.migtunnel.transport.TunnelSource;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The product under test: every name is a stream inside ONE tunnel connection over loopback TCP.
 * Public for adapters-qemu's QEMU relay tests, which reach it through transport's test-jar.
 */
public final class MigtunnelRelay implements SocketRelay {
    private final Map<String, Path> exposed = new LinkedHashMap<>();
    private Tunnel destination;
    private Tunnel source;

    @Override
    public void start(Map<String, Path> targetsByName, Path exposeDir) throws Exception {
        Files.createDirectories(exposeDir);
        TunnelDestination d = TunnelDestination.create();
        TunnelSource s = TunnelSource.create();
        for (Map.Entry<String, Path> e : targetsByName.entrySet()) {
            Path socket = exposeDir.resolve(e.getKey() + ".sock");
            d = d.route(e.getKey(), e.getValue());
            s = s.expose(e.getKey(), socket);
            exposed.put(e.getKey(), socket);
        }
        destination = d.bind().block(Duration.ofSeconds(10));
        source = s.connect(new InetSocketAddress("127.0.0.1", destination.address().getPort()))
                .start().block(Duration.ofSeconds(10));
    }

    @Override
    public Path exposed(String name) {
        Path p = exposed.get(name);
        if (p == null) {
            throw new IllegalArgumentException("no exposed socket for " + name);
        }
        return p;
    }

    @Override
    public void close() {
        if (source != null) {
            source.dispose();
        }
        if (destination != null) {
            destination.dispose();
        }
    }
}
