package io.migtunnel.cli;

import io.migtunnel.transport.Tunnel;
import io.migtunnel.transport.TunnelSource;
import io.migtunnel.transport.TunnelTls;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code migtunnel source}: connect to a destination and expose UNIX sockets that open streams. */
@Command(name = "source", mixinStandardHelpOptions = true,
    description = "Connect to a destination; every connection to an exposed UNIX socket opens a stream named NAME.")
final class SourceCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger("migtunnel.source");

    @Option(names = "--connect", required = true, paramLabel = "HOST:PORT", converter = Endpoints.HostPort.class,
        description = "The destination's TCP address.")
    InetSocketAddress connect;

    @Option(names = "--expose", required = true, paramLabel = "NAME=UNIX_PATH", converter = Endpoints.NamedSocket.class,
        description = "Listen on UNIX_PATH (created once the session is up); each connection opens a stream NAME. Repeatable.")
    List<Map.Entry<String, Path>> exposes;

    @Mixin
    TunnelOptions options;

    @Mixin
    TlsOptions tlsOptions;

    @Override
    public Integer call() {
        InetSocketAddress address = Endpoints.resolve(connect);
        TunnelTls tls = tlsOptions.resolve("--connect", address, log);
        // Started first, so that /health answers 503 while the source connects.
        try (MetricsEndpoint metrics = MetricsEndpoint.start(options.metrics, log)) {
            TunnelSource source = TunnelSource.create().connect(address)
                .config(options.toConfig()).listener(metrics.listener());
            if (tls != null) {
                source = source.tls(tls);
            }
            for (Map.Entry<String, Path> e : exposes) {
                source = source.expose(e.getKey(), e.getValue());
            }
            Tunnel tunnel = source.start().block();
            log.info("ready: connected to {} ({}), exposing {}", tunnel.address(),
                tls != null ? "mutual TLS" : "plaintext", exposes);
            return Lifecycle.runUntilStopped(tunnel, log);
        }
    }
}
