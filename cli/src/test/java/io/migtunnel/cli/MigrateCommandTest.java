package io.migtunnel.cli;

import static io.migtunnel.cli.CliProcesses.awaitLine;
import static io.migtunnel.cli.CliProcesses.freePort;
import static io.migtunnel.cli.CliProcesses.launch;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.migtunnel.qemu.vm.DiskImages;
import io.migtunnel.qemu.vm.QemuVm;
import io.migtunnel.testing.Await;
import io.migtunnel.testing.RealBinaries;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code migtunnel migrate} and {@code migtunnel destination --qmp} as real processes between two
 * real QEMUs: a migration with multifd that succeeds, and SIGINT mid-mirror that rolls back.
 */
@Tag("qemu")
@Timeout(180)
class MigrateCommandTest {
    private static final long SIZE = 32L << 20;
    @TempDir
    Path dir;
    private QemuVm source;
    private QemuVm destination;
    private Process destinationDaemon;
    private final Map<String, Path[]> images = new LinkedHashMap<>();
    private int port;

    @BeforeEach
    void start() throws Exception {
        RealBinaries.require("qemu-system-x86_64", "qemu-img");
        QemuVm.Builder src = QemuVm.builder("src", dir).memoryMiB(128);
        QemuVm.Builder dst = QemuVm.builder("dst", dir).memoryMiB(128).incomingDefer();
        for (int i = 0; i < 2; i++) {
            String id = "disk" + i;
            Path s = DiskImages.randomQcow2(dir.resolve("src-" + id + ".qcow2"), SIZE, 42 + i);
            Path pristine = Files.copy(s, dir.resolve("pristine-" + id + ".qcow2"));
            Path d = DiskImages.emptyQcow2(dir.resolve("dst-" + id + ".qcow2"), SIZE);
            images.put(id, new Path[] {s, d, pristine});
            src.disk(id, s);
            dst.disk(id, d);
        }
        source = src.start();
        destination = dst.start();
        port = freePort();
        Path dlog = dir.resolve("destination.log");
        destinationDaemon = launch(dlog, "destination", "--listen", "127.0.0.1:" + port,
            "--qmp", destination.qmpSocket().toString());
        awaitLine(dlog, "ready", destinationDaemon);
    }

    @AfterEach
    void stop() throws Exception {
        if (destinationDaemon != null) {
            destinationDaemon.destroy();
            destinationDaemon.waitFor(20, TimeUnit.SECONDS);
            destinationDaemon.destroyForcibly();
        }
        if (source != null) {
            source.close();
        }
        if (destination != null) {
            destination.close();
        }
    }

    @Test
    void migratesBothDisksAndPrintsASummary() throws Exception {
        Path log = dir.resolve("migrate.log");
        int metricsPort = freePort();
        Process migrate = launch(log, "migrate", "--qmp", source.qmpSocket().toString(),
            "--connect", "127.0.0.1:" + port, "--multifd", "4",
            "--metrics", "127.0.0.1:" + metricsPort, "--metrics-linger", "60");
        awaitLine(log, "serving the final metrics", migrate);
        String metrics = new String(new java.net.URL("http://127.0.0.1:" + metricsPort + "/metrics").openStream()
            .readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(metrics).contains("migtunnel_migrations_total{outcome=\"completed\",step=\"done\"} 1.0",
            "migtunnel_migration_active 0.0");
        assertThat(metrics).containsPattern("migtunnel_stream_bytes_total\\{direction=\"sent\",stream=\"nbd/disk0\"\\} [1-9]");
        migrate.destroy(); // SIGTERM ends the linger
        assertThat(migrate.waitFor(30, TimeUnit.SECONDS)).isTrue();
        String out = Files.readString(log);
        assertThat(out).contains("migrated VM 'src'");
        assertThat(out).contains("step: mirror the disks", "migrated VM 'src': destination running",
            "disk disk0", "disk disk1", "downtime");
        assertThat(out).containsPattern("\\d\\d:\\d\\d:\\d\\d step: switch over");
        assertThat(destination.status()).isEqualTo("running");
        assertThat(source.status()).isEqualTo("postmigrate");
        destination.quit();
        source.quit();
        for (Map.Entry<String, Path[]> e : images.entrySet()) {
            assertThat(DiskImages.identical(e.getValue()[0], e.getValue()[1])).as("disk %s", e.getKey()).isTrue();
        }
    }

    @Test
    void sigkillMidMirrorLeavesTheSourceRunningOnceQemuNoticesTheDeadTunnel() throws Exception {
        Path log = dir.resolve("migrate.log");
        Process migrate = launch(log, "migrate", "--qmp", source.qmpSocket().toString(),
            "--connect", "127.0.0.1:" + port, "--mirror-bandwidth", "2M");
        awaitLine(log, "mirror the disks; disk disk0", migrate);
        migrate.destroyForcibly();
        assertThat(migrate.waitFor(30, TimeUnit.SECONDS)).isTrue();
        Await.until("QEMU to end the mirrors whose NBD target is gone", Duration.ofSeconds(30),
            () -> source.qmp().queryBlockJobs().block(Duration.ofSeconds(5)), JsonNode::isEmpty);
        assertThat(source.status()).isEqualTo("running");
        assertThat(destination.status()).isEqualTo("inmigrate");
        source.quit();
        for (Map.Entry<String, Path[]> e : images.entrySet()) {
            assertThat(DiskImages.identical(e.getValue()[0], e.getValue()[2])).as("source disk %s unchanged", e.getKey())
                .isTrue();
        }
    }

    @Test
    void sigintMidMirrorRollsBackAndExitsNonZero() throws Exception {
        Path log = dir.resolve("migrate.log");
        Process migrate = launch(log, "migrate", "--qmp", source.qmpSocket().toString(),
            "--connect", "127.0.0.1:" + port, "--mirror-bandwidth", "2M");
        awaitLine(log, "mirror the disks; disk disk0", migrate);
        new ProcessBuilder("kill", "-INT", Long.toString(migrate.pid())).start().waitFor();
        assertThat(migrate.waitFor(30, TimeUnit.SECONDS)).as("exits after the rollback").isTrue();
        String out = Files.readString(log);
        assertThat(migrate.exitValue()).as(out).isEqualTo(130);
        assertThat(out).contains("migration failed at step 'mirror the disks': aborted: interrupted by SIGINT",
            "rolled back: the source VM keeps running on its own disks");
        assertThat(source.status()).isEqualTo("running");
        assertThat(source.qmp().queryBlockJobs().block(Duration.ofSeconds(5))).isEmpty();
        assertThat(destination.status()).isEqualTo("inmigrate");
        assertThat(destinationDaemon.isAlive()).as("the destination daemon keeps serving").isTrue();
        source.quit();
        for (Map.Entry<String, Path[]> e : images.entrySet()) {
            assertThat(DiskImages.identical(e.getValue()[0], e.getValue()[2])).as("source disk %s unchanged", e.getKey())
                .isTrue();
        }
    }
}
