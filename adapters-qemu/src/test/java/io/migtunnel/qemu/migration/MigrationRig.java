package io.migtunnel.qemu.migration;

import io.migtunnel.qemu.vm.DiskImages;
import io.migtunnel.qemu.vm.QemuVm;
import io.migtunnel.testing.RealBinaries;
import io.migtunnel.transport.Tunnel;
import io.migtunnel.transport.TunnelDestination;
import io.migtunnel.transport.TunnelSource;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Two real QEMUs on this machine (a running source with random disks and a random blob in RAM, a
 * destination waiting with {@code -incoming defer}) and a destination tunnel in orchestrated mode.
 */
final class MigrationRig implements AutoCloseable {
    static final long MiB = 1 << 20;
    static final long BLOB_ADDRESS = 0x1000000L;
    static final long BLOB_SIZE = 16 * MiB;

    final Path dir;
    final Map<String, Path> sourceImages = new LinkedHashMap<>();
    final Map<String, Path> pristine = new LinkedHashMap<>();
    final Map<String, Path> destinationImages = new LinkedHashMap<>();
    final Path blob;
    final QemuVm source;
    final QemuVm destination;
    final Tunnel tunnel;

    /** Fails the test without QEMU, skips it with -Dmigtunnel.skipQemu=true (see {@link RealBinaries}). */
    static void assumeQemu() {
        RealBinaries.require("qemu-system-x86_64", "qemu-img");
    }

    /** Source disks {@code disk0}, {@code disk1} of {@code size}; destination disks as given (id → size). */
    MigrationRig(Path dir, long size, Map<String, Long> destinationDisks) throws Exception {
        this(dir, size, destinationDisks, vm -> QmpLocator.single(vm.qmpSocket()));
    }

    /** The destination tunnel finds QMP sockets with what {@code locator} makes of the destination VM. */
    MigrationRig(Path dir, long size, Map<String, Long> destinationDisks,
                 java.util.function.Function<QemuVm, QmpLocator> locator) throws Exception {
        this(dir, size, destinationDisks, locator, false);
    }

    /** With {@code destinationStopped}, the destination QEMU starts with {@code -S}. */
    MigrationRig(Path dir, long size, Map<String, Long> destinationDisks,
                 java.util.function.Function<QemuVm, QmpLocator> locator, boolean destinationStopped) throws Exception {
        this.dir = dir;
        QemuVm.Builder src = QemuVm.builder("src", dir).memoryMiB(128);
        for (int i = 0; i < 2; i++) {
            String id = "disk" + i;
            Path image = DiskImages.randomQcow2(dir.resolve("src-" + id + ".qcow2"), size, 0x5eed + i);
            sourceImages.put(id, image);
            pristine.put(id, Files.copy(image, dir.resolve("pristine-" + id + ".qcow2")));
            src.disk(id, image);
        }
        blob = DiskImages.randomFile(dir.resolve("ram.bin"), BLOB_SIZE, 0xb10b);
        src.ramBlob(blob, BLOB_ADDRESS);
        QemuVm.Builder dst = QemuVm.builder("dst", dir).memoryMiB(128).incomingDefer();
        if (destinationStopped) {
            dst.stopped();
        }
        for (Map.Entry<String, Long> d : destinationDisks.entrySet()) {
            Path image = DiskImages.emptyQcow2(dir.resolve("dst-" + d.getKey() + ".qcow2"), d.getValue());
            destinationImages.put(d.getKey(), image);
            dst.disk(d.getKey(), image);
        }
        source = src.start();
        destination = dst.start();
        tunnel = TunnelDestination.create()
            .handle(IncomingMigrations.CONTROL_STREAM, new IncomingMigrations(locator.apply(destination)))
            .bind().block(Duration.ofSeconds(10));
    }

    static Map<String, Long> disks(long size0, long size1) {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("disk0", size0);
        m.put("disk1", size1);
        return m;
    }

    SourceMigration migration() {
        return SourceMigration.create(source.qmpSocket(),
            TunnelSource.create().connect(new InetSocketAddress("127.0.0.1", tunnel.address().getPort())));
    }

    /** SHA-256 of {@code BLOB_SIZE} bytes of guest RAM at {@code BLOB_ADDRESS}. */
    String ramDigest(QemuVm vm) throws Exception {
        return vm.ramSha256(BLOB_ADDRESS, BLOB_SIZE);
    }

    String diagnostics() {
        return "=== source ===\n" + source.log() + "\n=== destination ===\n" + destination.log();
    }

    @Override
    public void close() {
        tunnel.dispose();
        source.close();
        destination.close();
    }
}
