package io.migtunnel.qemu.migration;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.qemu.vm.DiskImages;
import io.migtunnel.qemu.vm.QemuVm;
import io.migtunnel.transport.Tunnel;
import io.migtunnel.transport.TunnelDestination;
import io.migtunnel.transport.TunnelSource;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Mono;

/**
 * One destination daemon ({@code --qmp-dir}) receiving two VMs at the same time, each over its own
 * session: every session's streams reach its own VM, both arrive intact.
 */
@Tag("qemu")
@Timeout(180)
class HostDaemonConcurrencyTest {
    private static final long SIZE = 32L << 20;
    @TempDir
    Path dir;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @BeforeEach
    void qemu() {
        MigrationRig.assumeQemu();
    }

    @AfterEach
    void close() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    @Test
    void twoVmsMigrateConcurrentlyIntoOneDaemon() throws Exception {
        Path daemonDir = Files.createDirectories(dir.resolve("vms"));
        List<QemuVm> sources = new ArrayList<>();
        List<QemuVm> destinations = new ArrayList<>();
        List<Path[]> images = new ArrayList<>();
        for (String vm : List.of("web", "db")) {
            Path src = DiskImages.randomQcow2(dir.resolve(vm + "-src.qcow2"), SIZE, vm.hashCode());
            Path dst = DiskImages.emptyQcow2(dir.resolve(vm + "-dst.qcow2"), SIZE);
            images.add(new Path[] {src, dst});
            QemuVm s = QemuVm.builder(vm + "-source", dir).memoryMiB(128).disk("disk0", src).start();
            toClose.add(s);
            sources.add(s);
            QemuVm d = QemuVm.builder(vm, daemonDir).memoryMiB(128).disk("disk0", dst).incomingDefer().start();
            toClose.add(d);
            destinations.add(d);
        }
        Tunnel daemon = TunnelDestination.create()
            .handle(IncomingMigrations.CONTROL_STREAM, new IncomingMigrations(QmpLocator.directory(daemonDir)))
            .bind().block(Duration.ofSeconds(10));
        toClose.add(daemon::dispose);
        TunnelSource toDaemon = TunnelSource.create().connect(new InetSocketAddress("127.0.0.1", daemon.address().getPort()));

        List<MigrationSummary> done = Mono.zip(
                SourceMigration.create(sources.get(0).qmpSocket(), toDaemon)
                    .options(MigrationOptions.defaults().withVm("web")).run(),
                SourceMigration.create(sources.get(1).qmpSocket(), toDaemon)
                    .options(MigrationOptions.defaults().withVm("db").withMultifd(2)).run())
            .map(t -> List.of(t.getT1(), t.getT2()))
            .block(Duration.ofSeconds(150));

        assertThat(done).extracting(MigrationSummary::vm).containsExactly("web", "db");
        for (int i = 0; i < 2; i++) {
            assertThat(destinations.get(i).status()).isEqualTo("running");
            assertThat(sources.get(i).status()).isEqualTo("postmigrate");
            destinations.get(i).quit();
            sources.get(i).quit();
            assertThat(DiskImages.identical(images.get(i)[0], images.get(i)[1])).as("disk of VM %d", i).isTrue();
        }
    }
}
