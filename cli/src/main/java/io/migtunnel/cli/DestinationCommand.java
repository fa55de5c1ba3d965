package io.migtunnel.cli;

import io.migtunnel.qemu.migration.IncomingMigrations;
import io.migtunnel.qemu.migration.QmpLocator;
import io.migtunnel.transport.Tunnel;
import io.migtunnel.transport.TunnelDestination;
import io.migtunnel.transport.TunnelTls;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code migtunnel destination}: listen for sources and route their streams to UNIX sockets. */
@Command(name = "destination", mixinStandardHelpOptions = true,
    description = {"Listen on TCP; join each stream a source opens to the UNIX socket routed for its name.",
        "With --qmp or --qmp-dir, also prepare a destination QEMU (started with -incoming defer) when a "
            + "'migtunnel migrate' source asks: check its disks, export them over NBD on a private socket, "
            + "migrate-incoming; on finish stop the NBD server and resume the VM."})
final class DestinationCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger("migtunnel.destination");

    @Option(names = "--listen", required = true, paramLabel = "HOST:PORT", converter = Endpoints.HostPort.class,
        description = "TCP address to listen on.")
    InetSocketAddress listen;

    @Option(names = "--route", paramLabel = "NAME=UNIX_PATH", converter = Endpoints.NamedSocket.class,
        description = "Streams named NAME go to the UNIX socket at UNIX_PATH. Repeatable. A route to libvirtd's "
            + "socket (e.g. libvirt=/run/libvirt/libvirt-sock) gives every source this destination accepts full "
            + "control of libvirtd; --tls-allow-subject narrows who that is.")
    List<Map.Entry<String, Path>> routes = new ArrayList<>();

    @Option(names = "--qmp", paramLabel = "DEST_QMP_SOCKET",
        description = "Orchestrated mode for one VM: the QMP socket of the destination QEMU (-incoming defer).")
    Path qmp;

    @Option(names = "--qmp-dir", paramLabel = "DIR",
        description = "Orchestrated mode for a host: DIR/NAME.qmp is the QMP socket of VM NAME (migrate --vm NAME).")
    Path qmpDir;

    @Option(names = "--max-sessions", paramLabel = "N",
        description = "Sessions (source connections) at once; one more gets GOAWAY REFUSED (default: ${DEFAULT-VALUE}).")
    int maxSessions = TunnelDestination.DEFAULT_MAX_SESSIONS;

    @Option(names = "--max-pending-handshakes", paramLabel = "N",
        description = "Connections at once that have not finished TLS and HELLO; one more is closed at once "
            + "(default: ${DEFAULT-VALUE}).")
    int maxPendingHandshakes = TunnelDestination.DEFAULT_MAX_PENDING_HANDSHAKES;

    @Option(names = "--tls-allow-subject", paramLabel = "SUBJECT",
        description = "Accept only sources whose certificate has this subject DN, exactly as RFC 2253 prints it "
            + "(e.g. CN=src-host,O=Example), or DNS:NAME for a subjectAltName DNS name. Repeatable; needs TLS.")
    Set<String> allowSubjects = new LinkedHashSet<>();

    @Spec
    CommandSpec spec;

    @Mixin
    TunnelOptions options;

    @Mixin
    TlsOptions tlsOptions;

    @Override
    public Integer call() {
        InetSocketAddress address = Endpoints.resolve(listen);
        TunnelTls tls = tlsOptions.resolve("--listen", address, log);
        if (qmp != null && qmpDir != null) {
            throw new ParameterException(spec.commandLine(), "--qmp and --qmp-dir exclude each other");
        }
        if (routes.isEmpty() && qmp == null && qmpDir == null) {
            throw new ParameterException(spec.commandLine(), "give --route, --qmp or --qmp-dir");
        }
        if (qmpDir != null && !Files.isDirectory(qmpDir)) {
            throw new ParameterException(spec.commandLine(), "--qmp-dir " + qmpDir + " is not a directory");
        }
        if (maxSessions < 1) {
            throw new ParameterException(spec.commandLine(), "--max-sessions must be at least 1");
        }
        if (maxPendingHandshakes < 1) {
            throw new ParameterException(spec.commandLine(), "--max-pending-handshakes must be at least 1");
        }
        if (!allowSubjects.isEmpty()) {
            if (tls == null) {
                throw new ParameterException(spec.commandLine(), "--tls-allow-subject needs --tls-cert, --tls-key and --tls-ca");
            }
            tls = tls.allowSubjects(allowSubjects);
        }
        try (MetricsEndpoint metrics = MetricsEndpoint.start(options.metrics, log)) {
            TunnelDestination dest = TunnelDestination.create().listen(address)
                .config(options.toConfig()).listener(metrics.listener()).maxSessions(maxSessions)
                .maxPendingHandshakes(maxPendingHandshakes);
            if (tls != null) {
                dest = dest.tls(tls);
            }
            for (Map.Entry<String, Path> r : routes) {
                dest = dest.route(r.getKey(), r.getValue());
                String libvirt = LibvirtRouteNotice.of(r.getKey(), r.getValue(), tls != null, allowSubjects);
                if (libvirt != null && tls == null) {
                    log.warn(libvirt);
                } else if (libvirt != null) {
                    log.info(libvirt);
                }
            }
            String mode = "routes " + routes;
            if (qmp != null || qmpDir != null) {
                dest = dest.handle(IncomingMigrations.CONTROL_STREAM,
                    new IncomingMigrations(qmp != null ? QmpLocator.single(qmp) : QmpLocator.directory(qmpDir)));
                mode = "migrations into " + (qmp != null ? qmp : qmpDir + "/NAME.qmp")
                    + (routes.isEmpty() ? "" : " and " + mode);
            }
            Tunnel tunnel = dest.bind().block();
            String how = tls != null ? "mutual TLS" : "plaintext";
            String with = mode;
            return Lifecycle.runUntilStopped(tunnel, log, () -> log.info("ready: listening on {} ({}) with {}",
                tunnel.address(), how, with));
        }
    }
}
