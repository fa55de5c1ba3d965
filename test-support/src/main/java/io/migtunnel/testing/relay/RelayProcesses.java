package io.migtunnel.testing.relay;

import io.migtunnel.testing.Await;
import io.migtunnel.testing.Cmd;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The processes one relay runs: started with a log each, waited for, stopped together with their children. */
public final class RelayProcesses implements AutoCloseable {
    private static final Duration READY = Duration.ofSeconds(30);

    private final List<Process> processes = new ArrayList<>();
    private final List<Path> logs = new ArrayList<>();

    /** Starts {@code command}, its output and errors into {@code log}. */
    public Process start(Path log, List<String> command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        processes.add(p);
        logs.add(log);
        return p;
    }

    /** Waits until {@code ready} holds, failing early, with its output, if {@code p} exits first. */
    public void awaitReady(Process p, String what, Await.Condition ready) throws Exception {
        Path log = logs.get(processes.indexOf(p));
        Await.until(what, READY, () -> {
            if (!p.isAlive()) {
                throw new IllegalStateException(what + ": the process exited with " + p.exitValue() + ":\n"
                    + Cmd.tail(Files.readString(log, StandardCharsets.UTF_8)));
            }
            return ready.met();
        });
    }

    /** A TCP port on the loopback address that was free a moment ago. */
    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** The tail of every non-empty log, for a failure message. */
    public String logs() {
        StringBuilder sb = new StringBuilder();
        for (Path log : logs) {
            try {
                if (Files.exists(log) && Files.size(log) > 0) {
                    sb.append("--- ").append(log.getFileName()).append(" ---\n")
                        .append(Cmd.tail(Files.readString(log, StandardCharsets.UTF_8))).append('\n');
                }
            } catch (IOException e) {
                sb.append("(").append(log).append(": ").append(e).append(")\n");
            }
        }
        return sb.toString();
    }

    /** Stops every process and its children (forked connections): TERM, then KILL after 10 s. */
    @Override
    public void close() throws InterruptedException {
        for (Process p : processes) {
            p.descendants().forEach(ProcessHandle::destroy);
            p.destroy();
        }
        for (Process p : processes) {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        }
        processes.clear();
    }
}
