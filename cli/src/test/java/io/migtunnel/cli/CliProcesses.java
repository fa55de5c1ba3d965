package io.migtunnel.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.testing.Await;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.time.Duration;

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

    /** Waits until {@code log} contains {@code text}; fails at once if {@code p} exits first. */
    static void awaitLine(Path log, String text, Process p) throws Exception {
        Await.until("'" + text + "' in " + log, Duration.ofSeconds(60), () -> {
            String output = Files.exists(log) ? Files.readString(log) : "";
            assertThat(p.isAlive() || output.contains(text))
                .as("process alive while waiting for '%s': %s", text, output).isTrue();
            return output;
        }, output -> output.contains(text));
    }
}
