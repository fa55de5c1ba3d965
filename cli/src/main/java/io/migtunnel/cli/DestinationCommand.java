package io.migtunnel.cli;

import io.migtunnel.transport.Tunnel;
import io.migtunnel.transport.TunnelDestination;
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

/** {@code migtunnel destination}: listen for sources and route their streams to UNIX sockets. */
@Command(name = "destination", mixinStandardHelpOptions = true,
    description = "Listen on TCP; join each stream a source opens to the UNIX socket routed for its name.")
final class DestinationCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger("migtunnel.destination");

    @Option(names = "--listen", required = true, paramLabel = "HOST:PORT", converter = Endpoints.HostPort.class,
        description = "TCP address to listen on.")
    InetSocketAddress listen;

    @Option(names = "--route", required = true, paramLabel = "NAME=UNIX_PATH", converter = Endpoints.NamedSocket.class,
        description = "Streams named NAME go to the UNIX socket at UNIX_PATH. Repeatable.")
    List<Map.Entry<String, Path>> routes;

    @Mixin
    TunnelOptions options;

    @Override
    public Integer call() {
        try (MetricsEndpoint metrics = MetricsEndpoint.start(options.metrics, log)) {
            TunnelDestination dest = TunnelDestination.create().listen(Endpoints.resolve(listen))
                .config(options.toConfig()).listener(metrics.listener());
            for (Map.Entry<String, Path> r : routes) {
                dest = dest.route(r.getKey(), r.getValue());
            }
            Tunnel tunnel = dest.bind().block();
            log.info("ready: listening on {} with routes {}", tunnel.address(), routes);
            return Lifecycle.runUntilStopped(tunnel, log);
        }
    }
}
