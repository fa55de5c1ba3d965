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
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

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

    @Option(names = "--socket-mode", paramLabel = "MODE", defaultValue = "0600",
        description = "Octal mode of the exposed sockets, set right after bind (default: ${DEFAULT-VALUE}: only this "
            + "user may connect). Their directory must not be world-writable without the sticky bit.")
    String socketMode;

    @Option(names = "--socket-group", paramLabel = "GROUP",
        description = "Group of the exposed sockets (default: this user's primary group); e.g. with --socket-mode 0660.")
    String socketGroup;

    @Option(names = "--exit-on-loss",
        description = "Exit (status 1) when the tunnel session ends, instead of keeping the exposed sockets and "
            + "connecting again to a new session (100 ms doubling to 5 s between attempts). A lost connection "
            + "that is resumed within --resume-grace does not end the session; with --resume-grace 0 any loss does.")
    boolean exitOnLoss;

    @Spec
    CommandSpec spec;

    @Mixin
    TunnelOptions options;

    @Mixin
    TlsOptions tlsOptions;

    @Override
    public Integer call() {
        InetSocketAddress address = Endpoints.resolve(connect);
        TunnelTls tls = tlsOptions.resolve("--connect", address, log);
        TunnelSource sockets;
        try {
            sockets = TunnelSource.create().socketMode(socketMode);
            if (socketGroup != null) {
                sockets = sockets.socketGroup(socketGroup);
            }
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--socket-mode/--socket-group: " + e.getMessage());
        }
        // Started first, so that /health answers 503 while the source connects.
        try (MetricsEndpoint metrics = MetricsEndpoint.start(options.metrics, log)) {
            TunnelSource source = sockets.connect(address)
                .config(options.toConfig()).listener(metrics.listener()).reconnect(!exitOnLoss);
            if (tls != null) {
                source = source.tls(tls);
            }
            for (Map.Entry<String, Path> e : exposes) {
                source = source.expose(e.getKey(), e.getValue());
            }
            Tunnel tunnel = source.start().block();
            return Lifecycle.runUntilStopped(tunnel, log, () -> log.info("ready: connected to {} ({}), exposing {}",
                tunnel.address(), tls != null ? "mutual TLS" : "plaintext", exposes));
        }
    }
}
