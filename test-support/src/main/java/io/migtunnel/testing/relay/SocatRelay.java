package io.migtunnel.testing.relay;

import io.migtunnel.testing.ListeningSockets;
import io.migtunnel.testing.RealBinaries;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Baseline relay: per name, {@code UNIX-LISTEN:exposed -> TCP 127.0.0.1:P -> UNIX-CONNECT:target}
 * with two forking socat processes, so every client connection gets its own TCP connection.
 */
public final class SocatRelay extends ProcessRelay {

    private static final int PORT_ATTEMPTS = 5;

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
            Path socket = exposeDir.resolve(fileName(name) + ".sock");
            int port = startTcpSide(name, e.getValue(), exposeDir);
            Process unixSide = spawn(exposeDir.resolve(fileName(name) + ".unix-side.log"),
                    "UNIX-LISTEN:" + socket + ",fork", "TCP:127.0.0.1:" + port);
            processes.awaitReady(unixSide, "socat UNIX-LISTEN " + socket, () -> ListeningSockets.unix(socket));
            exposedAt(name, socket);
        }
    }

    /** Starts the TCP-LISTEN side on a free ephemeral port, retrying if another process races us to it. */
    private int startTcpSide(String name, Path target, Path logDir) throws Exception {
        IllegalStateException last = null;
        for (int attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
            int port = RelayProcesses.freePort();
            Process tcpSide = spawn(logDir.resolve(fileName(name) + ".tcp-side." + attempt + ".log"),
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
