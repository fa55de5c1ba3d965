package io.migtunnel.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs {@code migtunnel} in a child JVM and waits for its log lines, for tests. */
final class CliProcesses {
    private CliProcesses() {
    }

    static Process launch(Path log, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static void awaitLine(Path log, String text, Process p) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (Files.exists(log) && Files.readString(log).contains(text)) {
                return;
            }
            assertThat(p.isAlive()).as("process alive while waiting for '%s': %s", text,
                Files.exists(log) ? Files.readString(log) : "").isTrue();
            Thread.sleep(50); // polling a log file for a condition
        }
        throw new AssertionError("no '" + text + "' in " + log + ": " + Files.readString(log));
    }
}
