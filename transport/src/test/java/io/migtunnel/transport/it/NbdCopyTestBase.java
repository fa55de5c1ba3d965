package io.migtunnel.transport.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.testing.Cmd;
import io.migtunnel.testing.DataFiles;
import io.migtunnel.testing.ExternalProcesses;
import io.migtunnel.testing.RealBinaries;
import io.migtunnel.testing.relay.SocketRelay;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real NBD server ({@code qemu-nbd}) behind the relay, real NBD clients ({@code nbdcopy}) in
 * front of it: 256 MiB of random data written through the relay and read back, bytes identical.
 */
@Tag("qemu")
abstract class NbdCopyTestBase {

    private static final long SIZE = 256 * DataFiles.MiB;
    private static final Duration COPY_TIMEOUT = Duration.ofSeconds(90);

    @TempDir Path dir;
    private ExternalProcesses processes;
    private SocketRelay relay;
    private Path source;
    private Path disk;

    protected abstract SocketRelay newRelay();

    @BeforeEach
    void startServerAndRelay() throws Exception {
        RealBinaries.require("qemu-nbd", "nbdcopy");
        source = DataFiles.randomFile(dir.resolve("source.bin"), SIZE, 0x5eed_0001L);
        disk = DataFiles.emptyRaw(dir.resolve("disk.raw"), SIZE);
        Path nbdSocket = dir.resolve("nbd.sock");
        processes = new ExternalProcesses(dir);
        processes.qemuNbd(disk, nbdSocket, "--shared=8", "--cache=unsafe");
        relay = newRelay();
        relay.start(Map.of("nbd", nbdSocket), dir.resolve("expose"));
    }

    @AfterEach
    void stop() throws Exception {
        try {
            if (relay != null) {
                relay.close();
            }
        } finally {
            if (processes != null) {
                processes.close();
            }
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void writeAndReadBackOneConnection() throws Exception {
        roundTrip(1);
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void writeAndReadBackFourConnections() throws Exception {
        roundTrip(4);
    }

    private void roundTrip(int connections) throws Exception {
        String uri = "nbd+unix:///disk?socket=" + relay.exposed("nbd");
        Path readBack = dir.resolve("read-back.bin");
        assertThat(Files.mismatch(source, disk)).as("the comparison can fail").isNotEqualTo(-1L);

        Cmd.Result write = nbdcopy(connections, source.toString(), uri);
        assertThat(Files.mismatch(source, disk)).as("server-side disk after write through relay: first byte that differs")
                .isEqualTo(-1L);

        Cmd.Result read = nbdcopy(connections, uri, readBack.toString());
        assertThat(Files.size(readBack)).isEqualTo(SIZE);
        assertThat(Files.mismatch(source, readBack)).as("data read back through relay: first byte that differs")
                .isEqualTo(-1L);

        // nbdcopy -v reports how many connections it really used (it caps them at the thread count,
        // and falls back to one if the server does not advertise multi-conn).
        for (Cmd.Result r : List.of(write, read)) {
            assertThat(r.stderr()).as("nbdcopy -v output").contains("nbdcopy: connections=" + connections + " ");
        }
    }

    private Cmd.Result nbdcopy(int connections, String from, String to) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("nbdcopy", "-v",
                "--connections=" + connections, "--threads=" + connections));
        if (to.startsWith("nbd")) {
            cmd.add("--flush");
        }
        cmd.add(from);
        cmd.add(to);
        Cmd.Result r = Cmd.run(COPY_TIMEOUT, cmd);
        if (r.exitCode() != 0) {
            throw new AssertionError("nbdcopy failed through " + relay + ": " + r.describe() + "\n"
                    + relay.diagnostics());
        }
        return r;
    }
}
