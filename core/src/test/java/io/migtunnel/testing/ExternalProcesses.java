package io.migtunnel.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Real programs for tests: each one's output goes to a log file in a test directory, and all are
 * killed on {@link #close()}.
 */
public final class ExternalProcesses implements AutoCloseable {
    private final Path logDir;
    private final Map<Process, Path> processes = new LinkedHashMap<>();

    public ExternalProcesses(Path logDir) {
        this.logDir = logDir;
    }

    /** Whether {@code program} is an executable on the PATH. */
    public static boolean onPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }

    /** Starts {@code command}; its output is kept for {@link #output}. */
    public Process start(String... command) throws IOException {
        Path log = logDir.resolve(Path.of(command[0]).getFileName() + "-" + processes.size() + ".log");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        processes.put(p, log);
        return p;
    }

    /** What {@code process} (started here) has printed so far. */
    public String output(Process process) throws IOException {
        return Files.readString(processes.get(process));
    }

    /** Runs {@code command} to its end and fails, showing its output, unless it exits 0 in time. */
    public void runToSuccess(Duration timeout, String... command) throws IOException, InterruptedException {
        Process p = start(command);
        if (!p.waitFor(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
            throw new AssertionError(command[0] + " did not finish within " + timeout + ": " + output(p));
        }
        if (p.exitValue() != 0) {
            throw new AssertionError(command[0] + " exited " + p.exitValue() + ": " + output(p));
        }
    }

    /** Waits until {@code file} exists (a server's socket, say), failing after {@code timeout}. */
    public static void awaitFile(Path file, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!Files.exists(file)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(file + " did not appear within " + timeout);
            }
            Thread.sleep(20); // polling interval of a condition wait
        }
    }

    @Override
    public void close() {
        processes.keySet().forEach(Process::destroyForcibly);
    }
}
