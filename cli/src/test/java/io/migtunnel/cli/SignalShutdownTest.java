package io.migtunnel.cli;

import static io.migtunnel.cli.CliProcesses.awaitLine;
import static io.migtunnel.cli.CliProcesses.freePort;
import static io.migtunnel.cli.CliProcesses.launch;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Real processes: SIGTERM stops both roles with exit 0 and removes the socket files. */
@Timeout(120)
class SignalShutdownTest {
    @TempDir
    Path dir;

    @Test
    void sigtermDrainsAndExitsZeroRemovingSockets() throws Exception {
        int port = freePort();
        Path exposed = dir.resolve("exposed.sock");
        Path dlog = dir.resolve("dest.log");
        Path slog = dir.resolve("src.log");
        Process dest = launch(dlog, "destination", "--listen", "127.0.0.1:" + port, "--route", "x=" + dir.resolve("t.sock"));
        try {
            awaitLine(dlog, "ready", dest);
            Process src = launch(slog, "source", "--connect", "127.0.0.1:" + port, "--expose", "x=" + exposed);
            try {
                awaitLine(slog, "ready", src);
                assertThat(exposed).exists();
                src.destroy(); // SIGTERM
                assertThat(src.waitFor(30, TimeUnit.SECONDS)).isTrue();
                assertThat(src.exitValue()).as(Files.readString(slog)).isZero();
                assertThat(exposed).doesNotExist();
            } finally {
                src.destroyForcibly();
            }
            dest.destroy();
            assertThat(dest.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(dest.exitValue()).as(Files.readString(dlog)).isZero();
        } finally {
            dest.destroyForcibly();
        }
    }

    @Test
    void sourceExitsNonZeroWhenTheDestinationIsUnreachable() throws Exception {
        Path slog = dir.resolve("src.log");
        Process src = launch(slog, "source", "--connect", "127.0.0.1:" + freePort(), "--expose", "x=" + dir.resolve("e.sock"));
        assertThat(src.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(src.exitValue()).isEqualTo(1);
        assertThat(Files.readString(slog)).contains("Connection refused");
    }
}
