package io.migtunnel.testing.relay;

import io.migtunnel.testing.Await;
import io.migtunnel.testing.Cmd;
import io.migtunnel.testing.ListeningSockets;
import io.migtunnel.testing.RealBinaries;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Baseline relay: per name, {@code UNIX-LISTEN:exposed -> TCP 127.0.0.1:P -> UNIX-CONNECT:target}
 * with two forking socat processes, so every client connection gets its own TCP connection.
 */
@SuppressWarnings("try") // close() may throw InterruptedException: it waits for processes
public final class SocatRelay implements SocketRelay {

    private static final Duration READY_TIMEOUT = Duration.ofSeconds(10);
    private static final int PORT_ATTEMPTS = 5;

    private final List<Process> processes = new ArrayList<>();
    private final List<Path> logs = new ArrayList<>();
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
            awaitListening(unixSide, "socat UNIX-LISTEN " + socket, () -> ListeningSockets.unix(socket));
            exposed.put(name, socket);
        }
    }

    /** Starts the TCP-LISTEN side on a free ephemeral port, retrying if another process races us to it. */
    private int startTcpSide(String name, Path target, Path logDir) throws Exception {
        AssertionError last = null;
        for (int attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
            int port = freePort();
            Process tcpSide = spawn(logDir.resolve(name + ".tcp-side." + attempt + ".log"),
                    "TCP-LISTEN:" + port + ",bind=127.0.0.1,reuseaddr,fork", "UNIX-CONNECT:" + target);
            try {
                awaitListening(tcpSide, "socat TCP-LISTEN " + port, () -> ListeningSockets.tcp(port));
                return port;
            } catch (AssertionError exited) {
                last = exited; // most likely the port was taken in between; try another one
            }
        }
        throw last;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private Process spawn(Path log, String left, String right) throws IOException {
        Process p = new ProcessBuilder("socat", "-b", "262144", left, right)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        processes.add(p);
        logs.add(log);
        return p;
    }

    private static void awaitListening(Process p, String what, Await.Condition listening) throws Exception {
        Await.until(what + " to listen", READY_TIMEOUT, () -> {
            if (!p.isAlive()) {
                throw new AssertionError(what + " exited with " + p.exitValue());
            }
            return listening.met();
        });
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
        try {
            return logs();
        } catch (IOException e) {
            return "(could not read socat logs: " + e + ")";
        }
    }

    private String logs() throws IOException {
        StringBuilder sb = new StringBuilder();
        for (Path log : logs) {
            if (Files.exists(log) && Files.size(log) > 0) {
                sb.append("--- ").append(log.getFileName()).append(" ---\n")
                        .append(Cmd.tail(Files.readString(log, StandardCharsets.UTF_8))).append('\n');
            }
        }
        return sb.toString();
    }

    @Override
    public void close() throws Exception {
        // Forked children carry live connections; stop them along with their listener.
        for (Process p : processes) {
            p.descendants().forEach(ProcessHandle::destroy);
            p.destroy();
        }
        for (Process p : processes) {
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        }
        processes.clear();
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
