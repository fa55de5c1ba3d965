package io.migtunnel.bench.migration;

import io.migtunnel.testing.ListeningSockets;
import io.migtunnel.testing.relay.ProcessRelay;
import io.migtunnel.testing.relay.RelayProcesses;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * migtunnel as users run it: {@code bin/migtunnel destination --listen 127.0.0.1:P --route NAME=TARGET...}
 * and {@code bin/migtunnel source --connect 127.0.0.1:P --expose NAME=SOCKET...}, two JVMs, one TCP
 * connection for every stream.
 */
final class TunnelPath extends ProcessRelay {
    private final Path launcher;
    private final List<String> extraArguments;
    private final String label;
    private final boolean preemptChannel;

    /** {@code launcher}: bin/migtunnel; {@code extraArguments} go to both roles; {@code label} names it in tables. */
    TunnelPath(Path launcher, List<String> extraArguments, String label) {
        this(launcher, extraArguments, label, false);
    }

    /**
     * With {@code preemptChannel}, a second connection to the {@code migration} socket while the
     * first is open (QEMU's postcopy-preempt channel) is the stream {@code migration/preempt},
     * routed to the same target: {@code --while-open} and a second {@code --route}.
     */
    TunnelPath(Path launcher, List<String> extraArguments, String label, boolean preemptChannel) {
        this.launcher = launcher;
        this.extraArguments = List.copyOf(extraArguments);
        this.label = label;
        this.preemptChannel = preemptChannel;
    }

    @Override
    public void start(Map<String, Path> targetsByName, Path exposeDir) throws Exception {
        Files.createDirectories(exposeDir);
        int port = RelayProcesses.freePort();
        List<String> destination = new ArrayList<>(List.of(launcher.toString(), "destination", "--listen", "127.0.0.1:" + port));
        List<String> source = new ArrayList<>(List.of(launcher.toString(), "source", "--connect", "127.0.0.1:" + port));
        List<Path> sockets = new ArrayList<>();
        for (Map.Entry<String, Path> e : targetsByName.entrySet()) {
            destination.addAll(List.of("--route", e.getKey() + "=" + e.getValue()));
            Path socket = exposeDir.resolve(fileName(e.getKey()) + ".sock");
            source.addAll(List.of("--expose", e.getKey() + "=" + socket));
            exposedAt(e.getKey(), socket);
            sockets.add(socket);
        }
        if (preemptChannel && targetsByName.containsKey("migration")) {
            destination.addAll(List.of("--route", "migration/preempt=" + targetsByName.get("migration")));
            source.addAll(List.of("--while-open", "migration=migration/preempt"));
        }
        destination.addAll(extraArguments);
        source.addAll(extraArguments);
        Process d = processes.start(exposeDir.resolve("destination.log"), destination);
        processes.awaitReady(d, "migtunnel destination on port " + port, () -> ListeningSockets.tcp(port));
        Process s = processes.start(exposeDir.resolve("source.log"), source);
        for (Path socket : sockets) {
            processes.awaitReady(s, "migtunnel source to expose " + socket, () -> ListeningSockets.unix(socket));
        }
    }

    @Override
    public String toString() {
        return label;
    }
}
