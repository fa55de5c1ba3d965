package io.migtunnel.qemu.vm;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** Runs the programs the busy guest needs (gcc, ld, qemu-img): output captured, a deadline, clear failures. */
final class Commands {
    private static final int MAX_OUTPUT = 8192;

    private Commands() {
    }

    /** Fails unless {@code program} is on the PATH, naming the Debian package that brings it and why it is needed. */
    static void require(String program, String debianPackage, String purpose) throws IOException {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                return;
            }
        }
        throw new IOException(program + " is not on the PATH; it is needed " + purpose
            + " (Debian package " + debianPackage + ": sudo apt-get install -y " + debianPackage + ")");
    }

    /** Runs {@code command} in {@code dir}; returns its output, or throws naming the command, exit code and output. */
    static String run(Path dir, Duration timeout, List<String> command) throws IOException {
        Path log = Files.createTempFile("migtunnel-command-", ".log");
        try {
            Process p = new ProcessBuilder(command).directory(dir == null ? null : dir.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            int exit = await(p, timeout, command);
            String output = head(log);
            if (exit != 0) {
                throw new IOException(String.join(" ", command) + " failed (exit " + exit + ")"
                    + (output.isEmpty() ? "" : ":\n" + output));
            }
            return output;
        } finally {
            Files.deleteIfExists(log);
        }
    }

    private static int await(Process p, Duration timeout, List<String> command) throws IOException {
        try {
            if (p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                return p.exitValue();
            }
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + " did not finish within " + timeout);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + command.get(0), e);
        }
    }

    private static String head(Path log) throws IOException {
        try (var in = Files.newInputStream(log)) {
            return new String(in.readNBytes(MAX_OUTPUT), StandardCharsets.UTF_8).trim();
        }
    }

    /** Deletes {@code root} and everything under it, if it exists. */
    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
