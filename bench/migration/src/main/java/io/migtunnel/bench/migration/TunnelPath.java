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

    /** {@code launcher}: bin/migtunnel; {@code extraArguments} go to both roles; {@code label} names it in tables. */
    TunnelPath(Path launcher, List<String> extraArguments, String label) {
        this.launcher = launcher;
        this.extraArguments = List.copyOf(extraArguments);
        this.label = label;
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
            Path socket = exposeDir.resolve(e.getKey() + ".sock");
            source.addAll(List.of("--expose", e.getKey() + "=" + socket));
            exposedAt(e.getKey(), socket);
            sockets.add(socket);
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
