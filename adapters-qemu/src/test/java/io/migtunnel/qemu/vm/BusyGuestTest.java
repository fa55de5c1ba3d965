package io.migtunnel.qemu.vm;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.testing.Await;
import io.migtunnel.testing.RealBinaries;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The busy guest in a real QEMU: it boots, says so, makes progress, and what it leaves passes {@link GuestCheck}. */
@Tag("qemu")
class BusyGuestTest {
    private static final long MiB = 1 << 20;
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    @BeforeEach
    void requireQemu() {
        RealBinaries.require("qemu-system-x86_64", "qemu-img", "gcc", "ld");
    }

    @Test
    void bootsRunsAndLeavesRamAndDisksThatPassTheCheck() throws Exception {
        BusyGuest guest = BusyGuest.defaults().withRam(8 * MiB, 8 * MiB).withDiskWrites(200).withDiskRegion(1024, 256);
        List<Path> images = new ArrayList<>();
        List<Path> originals = new ArrayList<>();
        QemuVm.Builder builder = QemuVm.builder("busy", dir).memoryMiB(64).busyGuest(guest);
        for (int i = 0; i < 2; i++) {
            Path image = DiskImages.randomQcow2(dir.resolve("disk" + i + ".qcow2"), 16 * MiB, 0xd15c + i);
            images.add(image);
            originals.add(Files.copy(image, dir.resolve("original" + i + ".qcow2")));
            builder.disk("disk" + i, image);
        }
        GuestStatus stopped;
        try (QemuVm vm = builder.start()) {
            String boot = Await.until("the boot line", WAIT, vm::serialLog, log -> log.contains("\n"));
            assertThat(boot).startsWith("busy guest v1: ram 0x800000+0x800000 (2048 pages), dirty_kib_s 0,"
                + " disk_writes_s 200, region 1024+256, disks 0:32768 1:32768, status 0x3ff000");

            GuestStatus first = vm.awaitGuestProgress(WAIT);
            vm.awaitGuestProgress(WAIT); // pages and every disk again...
            GuestStatus later = vm.awaitSweep(first.sweep() + 1, WAIT); // ...and a sweep further
            assertThat(later.sweep()).isGreaterThan(first.sweep());
            assertThat(later.pagesDirtied()).isGreaterThan(first.pagesDirtied());
            assertThat(later.lastWrites()).hasSize(2);
            for (int d = 0; d < 2; d++) {
                assertThat(later.lastWrite(d)).isGreaterThan(first.lastWrite(d));
            }
            assertThat(later.ticks()).isGreaterThan(first.ticks());
            // Progress lines come about once a second.
            Await.until("a progress line", WAIT, vm::serialLog, log -> log.contains(" s, sweep "));

            int region = guest.diskRegionSectors();
            vm.awaitGuest("writes around the region of both disks", WAIT,
                s -> s.lastWrite(0) > region && s.lastWrite(1) > region);
            vm.qmp().execute("stop").block(WAIT);
            GuestCheck.Report ram = GuestCheck.ram(vm, guest).orThrow();
            assertThat(ram.summary()).startsWith("RAM: 2048 pages, sweep ").endsWith(", 0 errors");
            stopped = vm.guestStatus();
            assertThat(stopped.errors()).isZero();
            assertThat(stopped.firstBadPage()).isEqualTo(-1);
        }
        for (int d = 0; d < 2; d++) {
            GuestCheck.Report disk = GuestCheck.disk(images.get(d), originals.get(d), d, guest, stopped.lastWrite(d))
                .orThrow();
            assertThat(disk.summary()).startsWith("disk " + d + ": ").endsWith(", region intact, rest as the original");
        }
    }

    @Test
    void countsNamesAndPrintsAPageChangedUnderIt() throws Exception {
        BusyGuest guest = BusyGuest.defaults().withRam(4 * MiB, 4 * MiB).withDirtyRate(8192).withDiskWrites(0);
        Path gdb = dir.resolve("gdb.sock");
        try (QemuVm vm = QemuVm.builder("victim", dir).memoryMiB(16).busyGuest(guest)
            .extraArguments("-gdb", "unix:" + gdb + ",server=on,wait=off").start()) {
            vm.awaitSweep(2, WAIT);
            GuestStatus before = vm.guestStatus();
            long page = (before.position() + guest.pageCount() / 2) % guest.pageCount(); // ahead of the sweep
            long address = guest.ramStart() + page * BusyGuest.PAGE_BYTES;
            GdbMemory.write(gdb, address + 8, new byte[] {0x55, 0x55, 0x55, 0x55}); // its sweep number
            Await.until("the VM running again", WAIT, () -> vm.status().equals("running"));

            GuestStatus after = vm.awaitGuest("the guest to find the page", WAIT, s -> s.errors() > 0);
            assertThat(after.errors()).isEqualTo(1);
            assertThat(after.firstBadPage()).isEqualTo(address);
            String line = String.format("busy guest: ERROR page 0x%x holds magic 0x4750544d index %d sweep 1431655765",
                address, page);
            Await.until("the error on serial", WAIT, vm::serialLog, log -> log.contains(line));

            vm.qmp().execute("stop").block(WAIT);
            assertThat(GuestCheck.ram(vm, guest).problems()).containsExactly(String.format(
                "the guest itself counted 1 errors, the first at page 0x%x (see its serial log)", address));
        }
    }

    @Test
    void honoursTheDirtyAndWriteRatesAndRunsMuchFasterFlatOut() throws Exception {
        BusyGuest paced = BusyGuest.defaults().withRam(4 * MiB, 8 * MiB).withDirtyRate(4096).withDiskWrites(100);
        Rate slow = measure("paced", paced, true);
        double expectedPages = 4096 / 4.0;
        assertThat(slow.pagesPerGuestSecond()).isBetween(0.5 * expectedPages, 2.0 * expectedPages);
        assertThat(slow.pagesPerWallSecond()).isBetween(0.5 * expectedPages, 2.0 * expectedPages);
        assertThat(slow.writesPerGuestSecond()).isBetween(50.0, 200.0);

        Rate fast = measure("flat-out", paced.withDirtyRate(0).withDiskWrites(0), false);
        assertThat(fast.pagesPerGuestSecond()).isGreaterThan(20 * expectedPages);
        System.out.printf("busy guest rates: paced at 4096 KiB/s: %.0f pages/s (guest time), %.0f (wall), %.1f writes/s;"
                + " flat out: %.0f pages/s = %.0f MiB/s of pages%n", slow.pagesPerGuestSecond(), slow.pagesPerWallSecond(),
            slow.writesPerGuestSecond(), fast.pagesPerGuestSecond(), fast.pagesPerGuestSecond() * 4096 / MiB);
    }

    private record Rate(double pagesPerGuestSecond, double pagesPerWallSecond, double writesPerGuestSecond) {
    }

    /** Pages and writes a second over about two seconds of guest time, once the initial fill is done. */
    private Rate measure(String name, BusyGuest guest, boolean withDisk) throws Exception {
        QemuVm.Builder builder = QemuVm.builder(name, dir).memoryMiB(32).busyGuest(guest);
        if (withDisk) {
            builder.disk("d", DiskImages.emptyQcow2(dir.resolve(name + ".qcow2"), 16 * MiB));
        }
        try (QemuVm vm = builder.start()) {
            GuestStatus a = vm.awaitGuestProgress(WAIT);
            long wallA = System.nanoTime();
            long span = 2 * GuestStatus.TICKS_PER_SECOND;
            GuestStatus b = vm.awaitGuest("two more seconds", WAIT, s -> s.ticks() - a.ticks() >= span);
            double wall = (System.nanoTime() - wallA) / 1e9;
            double guestSeconds = (double) (b.ticks() - a.ticks()) / GuestStatus.TICKS_PER_SECOND;
            long pages = b.pagesDirtied() - a.pagesDirtied();
            return new Rate(pages / guestSeconds, pages / wall, (b.lastWrite(0) - a.lastWrite(0)) / guestSeconds);
        }
    }
}
