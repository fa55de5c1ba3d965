package io.migtunnel.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a short-lived external program to completion with a timeout, capturing its output. */
public final class Cmd {

    /** How a program ended and what it printed. */
    public record Result(List<String> command, int exitCode, String stdout, String stderr, Duration took) {
        /** The command line, exit code, time and the end of both outputs, for failure messages. */
        public String describe() {
            return String.join(" ", command) + " -> exit " + exitCode + " in " + took.toMillis() + " ms"
                    + "\n--- stdout ---\n" + tail(stdout) + "\n--- stderr ---\n" + tail(stderr);
        }
    }

    private Cmd() {}

    /** Runs {@code command} (stdin from /dev/null); fails when it does not end within {@code timeout}. */
    public static Result run(Duration timeout, List<String> command) throws IOException, InterruptedException {
        Path out = Files.createTempFile("mt-cmd", ".out");
        Path err = Files.createTempFile("mt-cmd", ".err");
        try {
            long t0 = System.nanoTime();
            Process p = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile())
                    .start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
                throw new AssertionError("Timed out after " + timeout + ": " + String.join(" ", command)
                        + "\n--- stderr ---\n" + tail(Files.readString(err, StandardCharsets.UTF_8)));
            }
            return new Result(List.copyOf(command), p.exitValue(),
                    Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8),
                    Duration.ofNanos(System.nanoTime() - t0));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** Runs and fails (with the program's output) unless it exits 0. */
    public static Result check(Duration timeout, String... command) throws IOException, InterruptedException {
        Result r = run(timeout, List.of(command));
        if (r.exitCode() != 0) {
            throw new AssertionError("Command failed: " + r.describe());
        }
        return r;
    }

    /** The last 4000 characters of {@code s}. */
    public static String tail(String s) {
        int max = 4000;
        return s.length() <= max ? s : "..." + s.substring(s.length() - max);
    }
}
