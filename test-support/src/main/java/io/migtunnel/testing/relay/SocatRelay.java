package io.migtunnel.testing.relay;

import io.migtunnel.testing.ListeningSockets;
import io.migtunnel.testing.RealBinaries;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Baseline relay: per name, {@code UNIX-LISTEN:exposed -> TCP 127.0.0.1:P -> UNIX-CONNECT:target}
 * with two forking socat processes, so every client connection gets its own TCP connection.
 */
@SuppressWarnings("try") // close() may throw InterruptedException: it waits for processes
public final class SocatRelay implements SocketRelay {

    private static final int PORT_ATTEMPTS = 5;

    private final RelayProcesses processes = new RelayProcesses();
    private final Map<String, Path> exposed = new LinkedHashMap<>();

    /** A new relay; fails the test when socat is not installed (see {@link RealBinaries#require}). */
    public static SocatRelay create() {
        RealBinaries.require("socat");
        return new SocatRelay();
    }

    private SocatRelay() {
    }

    @Override
    public void start(Map<String, Path> targetsByName, Path exposeDir) throws Exception {
        Files.createDirectories(exposeDir);
        for (Map.Entry<String, Path> e : targetsByName.entrySet()) {
            String name = e.getKey();
            Path socket = exposeDir.resolve(name + ".sock");
            int port = startTcpSide(name, e.getValue(), exposeDir);
            Process unixSide = spawn(exposeDir.resolve(name + ".unix-side.log"),
                    "UNIX-LISTEN:" + socket + ",fork", "TCP:127.0.0.1:" + port);
            processes.awaitReady(unixSide, "socat UNIX-LISTEN " + socket, () -> ListeningSockets.unix(socket));
            exposed.put(name, socket);
        }
    }

    /** Starts the TCP-LISTEN side on a free ephemeral port, retrying if another process races us to it. */
    private int startTcpSide(String name, Path target, Path logDir) throws Exception {
        IllegalStateException last = null;
        for (int attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
            int port = RelayProcesses.freePort();
            Process tcpSide = spawn(logDir.resolve(name + ".tcp-side." + attempt + ".log"),
                    "TCP-LISTEN:" + port + ",bind=127.0.0.1,reuseaddr,fork", "UNIX-CONNECT:" + target);
            try {
                processes.awaitReady(tcpSide, "socat TCP-LISTEN " + port, () -> ListeningSockets.tcp(port));
                return port;
            } catch (IllegalStateException exited) {
                last = exited; // most likely the port was taken in between; try another one
            }
        }
        throw last;
    }

    private Process spawn(Path log, String left, String right) throws IOException {
        return processes.start(log, List.of("socat", "-b", "262144", left, right));
    }

    @Override
    public Path exposed(String name) {
        Path p = exposed.get(name);
        if (p == null) {
            throw new IllegalArgumentException("No exposed socket named " + name + "; have " + exposed.keySet());
        }
        return p;
    }

    /** socat's own output (errors only, since we don't pass -d), for failure messages. */
    @Override
    public String diagnostics() {
        return processes.logs();
    }

    @Override
    public void close() throws Exception {
        // Forked children carry live connections; stop them along with their listener.
        processes.close();
        for (Path socket : exposed.values()) {
            Files.deleteIfExists(socket);
        }
    }

    /** Each connection is set up by its own forked socat child, racing the others. */
    @Override
    public boolean preservesConnectionOrder() {
        return false;
    }

    @Override
    public String toString() {
        return "socat";
    }
}
