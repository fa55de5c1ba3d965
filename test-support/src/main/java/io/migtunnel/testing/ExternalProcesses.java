package io.migtunnel.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Long-running real programs for tests (servers such as qemu-nbd): each one's output goes to a log
 * file in a test directory, and all are killed on {@link #close()}. For a program that runs to its
 * end, see {@link Cmd}.
 */
public final class ExternalProcesses implements AutoCloseable {
    private static final Duration LISTEN_TIMEOUT = Duration.ofSeconds(10);

    private final Path logDir;
    private final Map<Process, Path> processes = new LinkedHashMap<>();

    public ExternalProcesses(Path logDir) {
        this.logDir = logDir;
    }

    /** Starts {@code command}; its output is kept for {@link #output}. */
    public Process start(String... command) throws IOException {
        Path log = logDir.resolve(Path.of(command[0]).getFileName() + "-" + processes.size() + ".log");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        processes.put(p, log);
        return p;
    }

    /**
     * Starts {@code qemu-nbd} serving the raw {@code image} as export {@code disk} on the UNIX socket
     * {@code socket}, persistent ({@code -t}), with {@code options} added; returns once it listens.
     */
    public Process qemuNbd(Path image, Path socket, String... options) throws Exception {
        List<String> command = new ArrayList<>(List.of("qemu-nbd", "-f", "raw", "-x", "disk", "-t", "-k",
            socket.toString()));
        command.addAll(List.of(options));
        command.add(image.toString());
        Process p = start(command.toArray(String[]::new));
        Await.until("qemu-nbd to listen on " + socket, LISTEN_TIMEOUT, () -> {
            if (!p.isAlive()) {
                throw new AssertionError("qemu-nbd exited " + p.exitValue() + ": " + output(p));
            }
            return ListeningSockets.unix(socket);
        });
        return p;
    }

    /** What {@code process} (started here) has printed so far. */
    public String output(Process process) throws IOException {
        return Files.readString(processes.get(process));
    }

    @Override
    public void close() {
        processes.keySet().forEach(Process::destroyForcibly);
    }
}
