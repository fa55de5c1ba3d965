package io.migtunnel.bench.migration;

import io.migtunnel.testing.ListeningSockets;
import io.migtunnel.testing.relay.RelayProcesses;
import io.migtunnel.testing.relay.SocketRelay;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * bench/splice-relay per name, as socat is run: {@code UNIX-LISTEN -> TCP 127.0.0.1 -> UNIX}, one TCP
 * connection per client connection, bytes moved with splice(2) and never copied to user space.
 */
final class SplicePath implements SocketRelay {
    private final Path binary;
    private final RelayProcesses processes = new RelayProcesses();
    private final Map<String, Path> exposed = new LinkedHashMap<>();

    /** {@code binary}: splice-relay.c, compiled. */
    SplicePath(Path binary) {
        this.binary = binary;
    }

    @Override
    public void start(Map<String, Path> targetsByName, Path exposeDir) throws Exception {
        java.nio.file.Files.createDirectories(exposeDir);
        for (Map.Entry<String, Path> e : targetsByName.entrySet()) {
            String name = e.getKey();
            int port = RelayProcesses.freePort();
            Process tcp = processes.start(exposeDir.resolve(name + ".splice-tcp.log"),
                List.of(binary.toString(), "tcp-listen:" + port, "unix:" + e.getValue()));
            processes.awaitReady(tcp, "splice-relay on port " + port, () -> ListeningSockets.tcp(port));
            Path socket = exposeDir.resolve(name + ".sock");
            Process unix = processes.start(exposeDir.resolve(name + ".splice-unix.log"),
                List.of(binary.toString(), "unix-listen:" + socket, "tcp:127.0.0.1:" + port));
            processes.awaitReady(unix, "splice-relay on " + socket, () -> ListeningSockets.unix(socket));
            exposed.put(name, socket);
        }
    }

    @Override
    public Path exposed(String name) {
        return exposed.get(name);
    }

    /** Each connection is dialled by its own thread. */
    @Override
    public boolean preservesConnectionOrder() {
        return false;
    }

    @Override
    public String diagnostics() {
        return processes.logs();
    }

    @Override
    public void close() throws Exception {
        processes.close();
    }

    @Override
    public String toString() {
        return "splice";
    }
}
