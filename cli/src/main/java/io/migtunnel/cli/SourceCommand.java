package io.migtunnel.cli;

import io.migtunnel.protocol.StreamNames;
import io.migtunnel.transport.LibvirtSocketModeException;
import io.migtunnel.transport.Tunnel;
import io.migtunnel.transport.TunnelSource;
import io.migtunnel.transport.TunnelTls;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
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

    @Option(names = "--while-open", paramLabel = "NAME=OTHER",
        description = {"A connection to NAME's exposed socket made while an earlier one there is still open opens a "
            + "stream OTHER instead (routed by OTHER on the destination). For clients that tell their connections "
            + "apart only by order: QEMU's postcopy-preempt channel, e.g. --while-open migration=migration/preempt "
            + "with --route migration/preempt=<the migration socket> on the destination (urgency 0 by default).",
            "Not with multifd or --parallel, whose extra connections would take OTHER's urgency."})
    List<String> whileOpen = new ArrayList<>();

    @Option(names = "--socket-mode", paramLabel = "[NAME=]MODE",
        description = {"Octal mode of the exposed sockets, set right after bind (default: 0600: only this user may "
            + "connect); NAME=MODE for the socket exposed as NAME alone. Repeatable, a later one winning. Their "
            + "directory must not be world-writable without the sticky bit.",
            "A socket exposed as libvirt (or libvirt...) gives whoever can connect full control of the destination's "
            + "libvirtd: a MODE for all that lets group or others in is refused for it; widen it by name, e.g. "
            + "--socket-mode libvirt=0660."})
    List<String> socketModes = new ArrayList<>();

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

    /** Applies each --socket-mode: MODE for every exposed socket, NAME=MODE for one that is exposed. */
    private TunnelSource withSocketModes(TunnelSource source) {
        for (String given : socketModes) {
            int eq = given.indexOf('=');
            if (eq < 0) {
                source = source.socketMode(given);
                continue;
            }
            String name = requireExposed("--socket-mode", given, given.substring(0, eq));
            source = source.socketMode(name, given.substring(eq + 1));
        }
        return source;
    }

    /** {@code name}, when an --expose gives it; else the usage error of {@code option given}. */
    private String requireExposed(String option, String given, String name) {
        Set<String> exposed = exposes.stream().map(Map.Entry::getKey).collect(Collectors.toSet());
        if (!exposed.contains(name)) {
            throw new ParameterException(spec.commandLine(), option + " " + given + ": no --expose " + name
                + "=... (exposed: " + exposed.stream().sorted().toList() + ")");
        }
        return name;
    }

    /** Each --while-open NAME=OTHER, by NAME; NAME must be exposed. */
    private Map<String, String> concurrentNames() {
        Map<String, String> names = new LinkedHashMap<>();
        for (String given : whileOpen) {
            int eq = given.indexOf('=');
            String name = requireExposed("--while-open", given, eq < 0 ? "" : given.substring(0, eq));
            try {
                names.put(name, StreamNames.requireValid(given.substring(eq + 1)));
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "--while-open " + given + ": " + e.getMessage());
            }
        }
        return names;
    }

    @Override
    public Integer call() {
        InetSocketAddress address = Endpoints.resolve(connect);
        TunnelTls tls = tlsOptions.resolve("--connect", address, log);
        TunnelSource sockets;
        try {
            sockets = withSocketModes(TunnelSource.create());
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
            Map<String, String> concurrent = concurrentNames();
            for (Map.Entry<String, Path> e : exposes) {
                String other = concurrent.get(e.getKey());
                source = other == null ? source.expose(e.getKey(), e.getValue())
                    : source.expose(e.getKey(), e.getValue(), other);
            }
            Tunnel tunnel;
            try {
                tunnel = source.start().block();
            } catch (LibvirtSocketModeException e) {
                throw new ParameterException(spec.commandLine(), "--socket-mode: refusing mode " + e.mode()
                    + " for the exposed socket '" + e.name() + "' at " + e.socket() + ": whoever can connect to it "
                    + "controls the destination's libvirtd; keep it 0600, or widen it for this name alone: "
                    + "--socket-mode " + e.name() + "=" + e.mode());
            }
            return Lifecycle.runUntilStopped(tunnel, log, () -> log.info("ready: connected to {} ({}), exposing {}",
                tunnel.address(), tls != null ? "mutual TLS" : "plaintext", exposes));
        }
    }
}
