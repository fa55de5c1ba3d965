package io.migtunnel.bench.migration;

import io.migtunnel.testing.ListeningSockets;
import io.migtunnel.testing.relay.ProcessRelay;
import io.migtunnel.testing.relay.RelayProcesses;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * bench/splice-relay per name, as socat is run: {@code UNIX-LISTEN -> TCP 127.0.0.1 -> UNIX}, one TCP
 * connection per client connection, bytes moved with splice(2) and never copied to user space.
 */
final class SplicePath extends ProcessRelay {
    private final Path binary;

    /** {@code binary}: splice-relay.c, compiled. */
    SplicePath(Path binary) {
        this.binary = binary;
    }

    @Override
    public void start(Map<String, Path> targetsByName, Path exposeDir) throws Exception {
        Files.createDirectories(exposeDir);
        for (Map.Entry<String, Path> e : targetsByName.entrySet()) {
            String name = e.getKey();
            int port = RelayProcesses.freePort();
            Process tcp = processes.start(exposeDir.resolve(fileName(name) + ".splice-tcp.log"),
                List.of(binary.toString(), "tcp-listen:" + port, "unix:" + e.getValue()));
            processes.awaitReady(tcp, "splice-relay on port " + port, () -> ListeningSockets.tcp(port));
            Path socket = exposeDir.resolve(fileName(name) + ".sock");
            Process unix = processes.start(exposeDir.resolve(fileName(name) + ".splice-unix.log"),
                List.of(binary.toString(), "unix-listen:" + socket, "tcp:127.0.0.1:" + port));
            processes.awaitReady(unix, "splice-relay on " + socket, () -> ListeningSockets.unix(socket));
            exposedAt(name, socket);
        }
    }

    /** Each connection is dialled by its own thread. */
    @Override
    public boolean preservesConnectionOrder() {
        return false;
    }

    @Override
    public String toString() {
        return "splice";
    }
}
