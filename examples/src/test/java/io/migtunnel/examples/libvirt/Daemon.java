package io.migtunnel.examples.libvirt;

import io.migtunnel.testing.Cmd;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A long-running program of the libvirt fixture (a namespace's holder, libvirtd, a forwarder, a
 * {@code virsh event} watcher): its output goes to a log file, and it is stopped by its PID, with
 * SIGTERM first and SIGKILL when that does not end it.
 */
final class Daemon implements AutoCloseable {
    private static final Duration GRACE = Duration.ofSeconds(15);

    private final String name;
    private final Process process;
    private final Path logFile;
    private final long started = System.nanoTime();
    private final CompletableFuture<Long> ended;

    private Daemon(String name, Process process, Path logFile) {
        this.name = name;
        this.process = process;
        this.logFile = logFile;
        this.ended = process.onExit().thenApply(p -> System.nanoTime());
    }

    /** Starts {@code command} with stdin from /dev/null and stdout and stderr in {@code log}. */
    static Daemon start(String name, List<String> command, Path log) throws IOException {
        Files.createDirectories(log.getParent());
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        return new Daemon(name, p, log);
    }

    String name() {
        return name;
    }

    long pid() {
        return process.pid();
    }

    boolean alive() {
        return process.isAlive();
    }

    /** Waits up to {@code timeout} for it to end by itself; whether it did. */
    boolean waitFor(Duration timeout) throws InterruptedException {
        return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** How it ended, once it has: exit status, how long it ran, its output. */
    Exit exit() {
        if (process.isAlive()) {
            throw new IllegalStateException(name + " still runs");
        }
        return new Exit(process.exitValue(), Duration.ofNanos(ended.join() - started), output());
    }

    /** How a program that ran to its end ended: status, wall-clock time, output. */
    record Exit(int status, Duration took, String output) {
    }

    /** Everything it printed so far. */
    String output() {
        try {
            return Files.exists(logFile) ? Files.readString(logFile) : "";
        } catch (IOException e) {
            return "(unreadable " + logFile + ": " + e + ")";
        }
    }

    /** The end of its output, headed by its name, for failure messages. */
    String log() {
        return "--- " + name + " (" + logFile + ") ---\n" + Cmd.tail(output()) + "\n";
    }

    /** Fails, with its output, unless it is still running. */
    void assertAlive() {
        if (!process.isAlive()) {
            throw new AssertionError(name + " exited " + process.exitValue() + "\n" + log());
        }
    }

    /**
     * SIGTERM, then SIGKILL if it has not ended after {@code grace}; returns its exit status, or -1
     * when it had to be killed.
     */
    int stop(Duration grace) {
        if (!process.isAlive()) {
            return process.exitValue();
        }
        process.destroy();
        try {
            if (process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                return process.exitValue();
            }
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        return -1;
    }

    @Override
    public void close() {
        stop(GRACE);
    }
}
