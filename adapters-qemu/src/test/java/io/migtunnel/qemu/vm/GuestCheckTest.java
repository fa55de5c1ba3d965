package io.migtunnel.qemu.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.migtunnel.testing.RealBinaries;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link GuestCheck} on purpose-made damage: a real RAM dump and disk image from a short run of the
 * busy guest, each test damaging a copy in one way and expecting the report to name it.
 */
@Tag("qemu")
class GuestCheckTest {
    private static final long MiB = 1 << 20;
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final BusyGuest GUEST = BusyGuest.defaults().withRam(4 * MiB, 8 * MiB).withDiskWrites(400)
        .withDiskRegion(1024, 64);
    private static final int R = GUEST.diskRegionSectors();

    @TempDir
    static Path run;
    @TempDir
    Path dir;

    private static Path dump;
    private static GuestStatus status;
    private static Path image;
    private static Path original;
    private static Path rawImage;
    private static Path rawOriginal;
    /** The newest write on the disk: the guest's last completed one, or the one after if it was in flight. */
    private static long newest;

    @BeforeAll
    static void runTheGuestOnce() throws Exception {
        RealBinaries.require("qemu-system-x86_64", "qemu-img", "gcc", "ld");
        image = DiskImages.randomQcow2(run.resolve("disk.qcow2"), 16 * MiB, 0xc4ec);
        original = Files.copy(image, run.resolve("original.qcow2"));
        try (QemuVm vm = QemuVm.builder("check", run).memoryMiB(32).busyGuest(GUEST).disk("disk", image).start()) {
            vm.awaitGuest("writes three times around the region", WAIT, s -> s.lastWrite(0) > 3 * R && s.sweep() > 2);
            vm.qmp().execute("stop").block(WAIT);
            status = vm.guestStatus();
            dump = run.resolve("range.bin");
            vm.saveRam(GUEST.ramStart(), GUEST.ramBytes(), dump);
        }
        rawImage = toRaw(image, run.resolve("disk.raw"));
        rawOriginal = toRaw(original, run.resolve("original.raw"));
        newest = status.lastWrite(0);
        if (DiskRecords.read(sector(rawImage, lbaOf(newest + 1)), 0, lbaOf(newest + 1)).write() == newest + 1) {
            newest++;
        }
    }

    // ---- RAM ----

    @Test
    void theUndamagedDumpPasses() throws Exception {
        GuestCheck.Report report = GuestCheck.ramDump(dump, status, GUEST).orThrow();
        assertThat(report.summary()).isEqualTo("RAM: 2048 pages, sweep " + status.sweep() + " at page "
            + status.position() + ", 0 errors");
        assertThat(report.problems()).isEmpty();
    }

    @Test
    void aByteFlippedInAPageHeaderIsNamedWithThePagesAddress() throws Exception {
        Path damaged = copy(dump);
        flip(damaged, 100L * 4096 + 9); // page 100's sweep number
        GuestCheck.Report report = GuestCheck.ramDump(damaged, status, GUEST);
        assertThat(report.ok()).isFalse();
        assertThat(report.problems()).singleElement().asString().startsWith("page 0x464000: header holds magic");
        assertThatThrownBy(report::orThrow).isInstanceOf(AssertionError.class).hasMessageContaining("page 0x464000");
    }

    @Test
    void aByteFlippedInAPageBodyIsNamedWithThePagesAddressAndOffset() throws Exception {
        Path damaged = copy(dump);
        flip(damaged, 2000L * 4096 + 0x7d1);
        GuestCheck.Report report = GuestCheck.ramDump(damaged, status, GUEST);
        assertThat(report.problems()).singleElement().asString()
            .startsWith("page 0xbd0000: body word at +0x7d0 holds").endsWith("(1 of 1020 words differ)");
    }

    @Test
    void aPageThatMissedItsLastSweepFails() throws Exception {
        int page = status.position() > 1 ? 0 : GUEST.pageCount() - 1;
        int sweep = (int) (page < status.position() ? status.sweep() : status.sweep() - 1);
        Path damaged = copy(dump);
        ByteBuffer header = ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN)
            .putInt(sweep - 1).putInt(GuestPages.check(page, sweep - 1)).flip();
        write(damaged, (long) page * 4096 + 8, header);
        GuestCheck.Report report = GuestCheck.ramDump(damaged, status, GUEST);
        assertThat(report.problems()).singleElement().asString().isEqualTo(String.format(
            "page 0x%x: holds sweep %d, expected sweep %d (status: sweep %d at page %d)", 0x400000 + page * 4096L,
            sweep - 1, sweep, status.sweep(), status.position()));
    }

    @Test
    void aStatusBlockThatDisagreesWithTheRangeFails() throws Exception {
        GuestStatus ahead = new GuestStatus(status.sweep(), (status.position() + 10) % GUEST.pageCount(),
            status.pagesDirtied() + 10, status.lastWrites(), 0, -1, status.ticks());
        assertThat(GuestCheck.ramDump(dump, ahead, GUEST).problems()).isNotEmpty()
            .allMatch(p -> p.contains("holds sweep"));
    }

    @Test
    void errorsTheGuestCountedItselfFail() throws Exception {
        GuestStatus counted = new GuestStatus(status.sweep(), status.position(), status.pagesDirtied(),
            status.lastWrites(), 1, 0x401000, status.ticks());
        assertThat(GuestCheck.ramDump(dump, counted, GUEST).problems())
            .containsExactly("the guest itself counted 1 errors, the first at page 0x401000 (see its serial log)");
    }

    // ---- disks ----

    @Test
    void theUndamagedImagesPass() throws Exception {
        GuestCheck.Report qcow2 = GuestCheck.disk(image, original, 0, GUEST, status.lastWrite(0)).orThrow();
        assertThat(qcow2.summary()).isEqualTo("disk 0: " + newest + " writes found, last completed #"
            + status.lastWrite(0) + ", region intact, rest as the original");
        GuestCheck.disk(rawImage, rawOriginal, 0, GUEST, status.lastWrite(0)).orThrow();
        GuestCheck.disk(rawImage, null, 0, GUEST, status.lastWrite(0)).orThrow();
    }

    @Test
    void theNewestWriteMayHaveBeenInFlightButNoMore() throws Exception {
        GuestCheck.disk(rawImage, rawOriginal, 0, GUEST, newest - 1).orThrow();
        assertThat(GuestCheck.disk(rawImage, rawOriginal, 0, GUEST, newest - 2).problems()).containsExactly(
            "disk 0: found write #" + newest + ", but the guest had completed only #" + (newest - 2)
                + " (and at most #" + (newest - 1) + " may have been in flight)",
            "disk 0: LBA " + lbaOf(newest) + " holds write #" + newest + " (a write not yet made), expected write #"
                + (newest - R));
        assertThat(GuestCheck.disk(rawImage, rawOriginal, 0, GUEST, newest + 1).problems()).containsExactly(
            "disk 0: the newest write found is #" + newest + ", but the guest had completed #" + (newest + 1),
            "disk 0: LBA " + lbaOf(newest + 1) + " holds write #" + (newest + 1 - R)
                + " (a later write is lost), expected write #" + (newest + 1));
    }

    @Test
    void aDroppedWriteIsNamedWithItsDiskAndLba() throws Exception {
        long k = newest - 3;
        Path damaged = copy(rawImage);
        write(damaged, lbaOf(k) * 512, ByteBuffer.wrap(DiskRecords.encode(0, k - R, lbaOf(k), 1)));
        assertThat(GuestCheck.disk(damaged, rawOriginal, 0, GUEST, status.lastWrite(0)).problems()).containsExactly(
            "disk 0: LBA " + lbaOf(k) + " holds write #" + (k - R) + " (a later write is lost), expected write #" + k);
    }

    @Test
    void aWriteLostToTheOriginalDataIsNamed() throws Exception {
        long k = newest - 5;
        Path damaged = copy(rawImage);
        write(damaged, lbaOf(k) * 512, sector(rawOriginal, lbaOf(k)));
        assertThat(GuestCheck.disk(damaged, rawOriginal, 0, GUEST, status.lastWrite(0)).problems()).containsExactly(
            "disk 0: LBA " + lbaOf(k) + " holds no record (the original data), expected write #" + k);
    }

    @Test
    void reorderedWritesFail() throws Exception {
        long a = newest - 7;
        long b = newest - 8;
        Path damaged = copy(rawImage);
        ByteBuffer sectorA = sector(rawImage, lbaOf(a));
        ByteBuffer sectorB = sector(rawImage, lbaOf(b));
        write(damaged, lbaOf(a) * 512, sectorB);
        write(damaged, lbaOf(b) * 512, sectorA);
        // problems come in LBA order, and which of the two LBAs is lower depends on the guest's run
        assertThat(GuestCheck.disk(damaged, rawOriginal, 0, GUEST, status.lastWrite(0)).problems())
            .containsExactlyInAnyOrder(
            "disk 0: LBA " + lbaOf(b) + " holds a record for LBA " + lbaOf(a) + " of write #" + a
                + ", expected write #" + b,
            "disk 0: LBA " + lbaOf(a) + " holds a record for LBA " + lbaOf(b) + " of write #" + b
                + ", expected write #" + a);
    }

    @Test
    void aTornRecordFails() throws Exception {
        long k = newest - 2;
        Path damaged = copy(rawImage);
        flip(damaged, lbaOf(k) * 512 + 300);
        assertThat(GuestCheck.disk(damaged, rawOriginal, 0, GUEST, status.lastWrite(0)).problems()).containsExactly(
            "disk 0: LBA " + lbaOf(k) + " holds a damaged record (bad checksum) of write #" + k + ", expected write #" + k);
    }

    @Test
    void aWriteOutsideTheRegionFails() throws Exception {
        long after = GUEST.diskRegionStart() + R;
        long before = GUEST.diskRegionStart() - 1;
        Path damaged = copy(rawImage);
        write(damaged, after * 512, ByteBuffer.wrap(DiskRecords.encode(0, newest + 1, after, 1)));
        write(damaged, before * 512 + 17, ByteBuffer.wrap(new byte[] {42}));
        List<String> problems = GuestCheck.disk(damaged, rawOriginal, 0, GUEST, status.lastWrite(0)).problems();
        assertThat(problems).containsExactly(
            "disk 0: LBA " + before + ", outside the region 1024..1087, differs from the original",
            "disk 0: LBA " + after + ", outside the region 1024..1087, differs from the original (holds write #"
                + (newest + 1) + ")");
        // Without the original, only the region is checked.
        GuestCheck.disk(damaged, null, 0, GUEST, status.lastWrite(0)).orThrow();
    }

    @Test
    void theRecordsOfAnotherDiskFail() throws Exception {
        GuestCheck.Report report = GuestCheck.disk(rawImage, rawOriginal, 1, GUEST, status.lastWrite(0));
        assertThat(report.problemCount()).isEqualTo(R + 1); // every sector, and no write of disk 1 found
        assertThat(report.problems()).hasSize(21).last().asString().isEqualTo("... and " + (R + 1 - 20) + " more");
    }

    // ---- helpers ----

    private static long lbaOf(long k) {
        return GUEST.diskRegionStart() + (k - 1) % R;
    }

    private static Path toRaw(Path qcow2, Path raw) throws IOException {
        Commands.run(null, WAIT, List.of("qemu-img", "convert", "-f", "qcow2", "-O", "raw", qcow2.toString(),
            raw.toString()));
        return raw;
    }

    private Path copy(Path file) throws IOException {
        return Files.copy(file, dir.resolve("damaged-" + file.getFileName()));
    }

    private static ByteBuffer sector(Path raw, long lba) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(512);
        try (FileChannel ch = FileChannel.open(raw, StandardOpenOption.READ)) {
            ch.read(b, lba * 512);
        }
        return b.flip();
    }

    private static void write(Path file, long at, ByteBuffer bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(bytes.duplicate(), at);
        }
    }

    private static void flip(Path file, long at) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(1);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ch.read(b, at);
            b.put(0, (byte) (b.get(0) ^ 0x10));
            ch.write(b.flip(), at);
        }
    }
}
