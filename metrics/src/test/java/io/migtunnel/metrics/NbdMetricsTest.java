package io.migtunnel.metrics;

import io.migtunnel.testing.Cmd;
import io.migtunnel.testing.ExternalProcesses;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.mux.SessionListener;
import io.migtunnel.qemu.nbd.NbdAwareness;
import io.migtunnel.testing.RealBinaries;
import io.migtunnel.transport.Tunnel;
import io.migtunnel.transport.TunnelDestination;
import io.migtunnel.transport.TunnelSource;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Real nbdcopy ↔ qemu-nbd through a real tunnel: the NBD meters of both sides count what moved. */
@Timeout(120)
class NbdMetricsTest {
    private static final int SIZE = 16 * 1024 * 1024;
    private static final Duration DEADLINE = Duration.ofSeconds(10);

    @TempDir
    Path dir;
    private final List<AutoCloseable> toClose = new ArrayList<>();
    private ExternalProcesses processes;

    @BeforeEach
    void processes() {
        processes = new ExternalProcesses(dir);
    }

    @AfterEach
    void stop() throws Exception {
        processes.close();
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private void nbdcopy(String from, String to) throws Exception {
        Cmd.check(Duration.ofSeconds(60), "nbdcopy", "-C", "1", "-T", "1", from, to);
    }

    private static SessionListener withNbd(Metered m) {
        return SessionListener.all(m.listener,
            new NbdAwareness(name -> name.startsWith("nbd"), disk -> new MicrometerNbdRecorder(m.registry, disk)));
    }

    @Test
    void nbdBytesAndRequestsAreCountedPerDiskOnBothSides() throws Exception {
        RealBinaries.require("qemu-nbd", "nbdcopy");
        Path image = dir.resolve("disk.raw");
        Path data = dir.resolve("data.bin");
        byte[] random = new byte[SIZE];
        new Random(9).nextBytes(random);
        Files.write(data, random);
        Files.write(image, new byte[SIZE]);
        Path nbdSock = dir.resolve("nbd.sock");
        processes.qemuNbd(image, nbdSock);

        Metered dst = new Metered();
        toClose.add(dst);
        Metered src = new Metered();
        toClose.add(src);
        Tunnel destination = TunnelDestination.create().route("nbd/disk0", nbdSock).listener(withNbd(dst))
            .bind().block(DEADLINE);
        toClose.add(destination::dispose);
        Path exposed = dir.resolve("exposed.sock");
        Tunnel source = TunnelSource.create().connect(new InetSocketAddress("127.0.0.1", destination.address().getPort()))
            .expose("nbd/disk0", exposed).listener(withNbd(src)).start().block(DEADLINE);
        toClose.add(source::dispose);

        String uri = "nbd+unix:///disk?socket=" + exposed;
        nbdcopy(data.toString(), uri);
        nbdcopy(uri, "null:");

        for (Metered side : new Metered[] {src, dst}) {
            Map<String, String> write = Map.of("stream", "nbd/disk0", "type", "write");
            Map<String, String> read = Map.of("stream", "nbd/disk0", "type", "read");
            assertThat(side.scraper.awaitSample("migtunnel_nbd_bytes_total", write, v -> v == SIZE, DEADLINE))
                .as("WRITE bytes").isEqualTo(SIZE);
            assertThat(side.scraper.awaitSample("migtunnel_nbd_bytes_total", read, v -> v == SIZE, DEADLINE))
                .as("READ bytes").isEqualTo(SIZE);
            double writes = side.scraper.sample("migtunnel_nbd_requests_total", write);
            assertThat(writes).isPositive();
            assertThat(side.scraper.sample("migtunnel_nbd_request_latency_seconds_count", write)).isEqualTo(writes);
            assertThat(side.scraper.awaitSample("migtunnel_nbd_in_flight", Map.of("stream", "nbd/disk0"), v -> v == 0,
                DEADLINE)).isZero();
            assertThat(side.scraper.sample("migtunnel_nbd_errors_total", write)).isZero();
        }
    }
}
