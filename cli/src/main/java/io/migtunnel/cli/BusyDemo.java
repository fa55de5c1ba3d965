package io.migtunnel.cli;

import io.migtunnel.qemu.migration.MigrationOptions;
import io.migtunnel.qemu.vm.BusyGuest;
import io.migtunnel.qemu.vm.DiskImages;
import io.migtunnel.qemu.vm.GuestCheck;
import io.migtunnel.qemu.vm.GuestStatus;
import io.migtunnel.qemu.vm.QemuVm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The default demo: the busy guest runs on the source, dirtying RAM and writing both disks, while
 * it migrates; afterwards it must run on in the destination, whose RAM and disks {@link GuestCheck}
 * proves hold a state the guest reached with nothing lost.
 */
final class BusyDemo {
    private static final Duration WAIT = Duration.ofSeconds(60);

    private final Path dir;
    private final long diskSize;
    private final int ramMiB;
    private final BusyGuest guest;
    private final MigrationOptions options;

    BusyDemo(Path dir, long diskSize, int ramMiB, long dirtyKiBPerSecond, int diskWrites, MigrationOptions options) {
        this.dir = dir;
        this.diskSize = diskSize;
        this.ramMiB = ramMiB;
        long range = Math.min(64L << 20, ((long) ramMiB << 20) - (8L << 20));
        this.guest = BusyGuest.defaults().withRam(4L << 20, range).withDirtyRate(dirtyKiBPerSecond)
            .withDiskWrites(diskWrites);
        this.options = options;
    }

    int run() throws Exception {
        System.out.println("demo: building the busy guest and two " + ByteUnits.bytes(diskSize) + " disks of random data in "
            + dir);
        guest.kernel();
        List<Path[]> disks = new ArrayList<>(); // source, original, destination
        QemuVm.Builder src = QemuVm.builder("demo-source", dir).memoryMiB(ramMiB).busyGuest(guest);
        QemuVm.Builder dst = QemuVm.builder("demo-destination", dir).memoryMiB(ramMiB).busyGuest(guest).incomingDefer();
        for (int i = 0; i < 2; i++) {
            String id = "disk" + i;
            Path source = DiskImages.randomQcow2(dir.resolve("source-" + id + ".qcow2"), diskSize, System.nanoTime() + i);
            Path original = Files.copy(source, dir.resolve("original-" + id + ".qcow2"));
            disks.add(new Path[] {source, original, DiskImages.emptyQcow2(dir.resolve("destination-" + id + ".qcow2"), diskSize)});
            src.disk(id, source);
            dst.disk(id, disks.get(i)[2]);
        }
        try (QemuVm source = src.start(); QemuVm destination = dst.start()) {
            GuestStatus before = source.awaitGuest("its first sweep", WAIT, s -> s.sweep() >= 2);
            System.out.println("demo: source QEMU pid " + source.pid() + " runs the busy guest (" + ByteUnits.bytes(guest.ramBytes())
                + " of RAM dirtied at " + (guest.dirtyKiBPerSecond() == 0 ? "full speed" : guest.dirtyKiBPerSecond() + " KiB/s")
                + ", " + guest.diskWritesPerSecond() + " writes/s to each disk; sweep " + before.sweep()
                + "); destination QEMU pid " + destination.pid() + " waiting (-incoming defer)");
            int code = DemoCommand.migrate(source, destination, options);
            return code != 0 ? code : verify(source, destination, disks);
        }
    }

    private int verify(QemuVm source, QemuVm destination, List<Path[]> disks) throws Exception {
        GuestStatus atSwitchover = source.guestStatus();
        GuestStatus onward = destination.awaitGuestProgress(WAIT);
        destination.qmp().execute("stop").block(Duration.ofSeconds(10));
        GuestStatus last = destination.guestStatus();
        GuestCheck.Report ram = GuestCheck.ram(destination, guest);
        destination.quit();
        source.quit();
        boolean ok = ram.ok() && onward.pagesDirtied() > atSwitchover.pagesDirtied();
        System.out.printf("verify: on the source the guest dirtied %d pages (%d sweeps) and wrote %s sectors; on the "
                + "destination %d pages more and %s sectors more%n", atSwitchover.pagesDirtied(), atSwitchover.sweep(),
            atSwitchover.lastWrites(), last.pagesDirtied() - atSwitchover.pagesDirtied(),
            difference(last.lastWrites(), atSwitchover.lastWrites()));
        System.out.println("verify: destination " + ram.summary() + (ram.ok() ? "" : ": " + ram.problems()));
        for (int i = 0; i < disks.size(); i++) {
            GuestCheck.Report disk = GuestCheck.disk(disks.get(i)[2], disks.get(i)[1], i, guest, last.lastWrite(i));
            ok &= disk.ok();
            System.out.println("verify: destination " + disk.summary() + (disk.ok() ? "" : ": " + disk.problems()));
        }
        System.out.println(ok ? "demo: OK (nothing the guest wrote was lost)" : "demo: FAILED");
        return ok ? 0 : 1;
    }

    private static List<Long> difference(List<Long> after, List<Long> before) {
        List<Long> d = new ArrayList<>();
        for (int i = 0; i < after.size(); i++) {
            d.add(after.get(i) - before.get(i));
        }
        return d;
    }
}
