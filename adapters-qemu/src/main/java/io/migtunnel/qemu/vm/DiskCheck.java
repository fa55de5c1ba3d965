package io.migtunnel.qemu.vm;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** {@link GuestCheck#disk}: one disk image's region against the guest's write sequence, the rest against the original. */
final class DiskCheck {
    private static final int CHUNK_SECTORS = 2048;
    private static final int SECTOR = BusyGuest.SECTOR_BYTES;
    private static final byte[] QCOW2_MAGIC = {'Q', 'F', 'I', (byte) 0xFB};

    private final int disk;
    private final BusyGuest guest;
    private final long lastCompleted;
    private final String name;
    private final GuestCheck.Problems problems = new GuestCheck.Problems();
    /** Per region sector: the write number of the record it holds, 0 for none. */
    private final long[] found;
    /** What is wrong with the records that are not intact (sector -> damage). */
    private final Map<Integer, String> damaged = new HashMap<>();
    /** Region sectors equal to the original's. */
    private final BitSet asOriginal = new BitSet();

    private DiskCheck(int disk, BusyGuest guest, long lastCompleted) {
        this.disk = disk;
        this.guest = guest;
        this.lastCompleted = lastCompleted;
        this.name = "disk " + disk;
        this.found = new long[guest.diskRegionSectors()];
    }

    static GuestCheck.Report check(Path image, Path original, int disk, BusyGuest guest, long lastCompleted)
        throws IOException {
        if (disk < 0 || disk >= BusyGuest.MAX_DISKS) {
            throw new IllegalArgumentException("diskIndex must be 0.." + (BusyGuest.MAX_DISKS - 1) + ", not " + disk);
        }
        if (lastCompleted < 0) {
            throw new IllegalArgumentException("lastCompletedWrite must be >= 0, not " + lastCompleted);
        }
        Path tmp = Files.createTempDirectory("migtunnel-disk-check-");
        try {
            Path raw = raw(image, tmp.resolve("image.raw"));
            Path rawOriginal = original == null ? null : raw(original, tmp.resolve("original.raw"));
            return new DiskCheck(disk, guest, lastCompleted).run(raw, rawOriginal);
        } finally {
            Commands.deleteTree(tmp);
        }
    }

    private GuestCheck.Report run(Path image, Path original) throws IOException {
        try (FileChannel img = FileChannel.open(image, StandardOpenOption.READ);
             FileChannel org = original == null ? null : FileChannel.open(original, StandardOpenOption.READ)) {
            if (img.size() < guest.minimumDiskBytes()) {
                problems.add(name + ": the image has " + img.size() + " bytes, the region needs "
                    + guest.minimumDiskBytes());
                return problems.report(name + ": not checked");
            }
            if (org != null && org.size() != img.size()) {
                problems.add(name + ": the image has " + img.size() + " bytes, the original " + org.size());
                return problems.report(name + ": not checked");
            }
            readRegion(img, org);
            long newest = newestWrite();
            long assumed = Math.max(lastCompleted, Math.min(newest, lastCompleted + 1));
            checkRegion(assumed, org != null);
            if (org != null) {
                checkOutside(img, org);
            }
            String summary = name + ": " + newest + " writes found, last completed #" + lastCompleted;
            return problems.report(problems.count() > 0 ? summary
                : summary + ", region intact" + (org == null ? "" : ", rest as the original"));
        }
    }

    private void readRegion(FileChannel img, FileChannel org) throws IOException {
        int sectors = guest.diskRegionSectors();
        ByteBuffer a = ByteBuffer.allocate(CHUNK_SECTORS * SECTOR);
        ByteBuffer b = ByteBuffer.allocate(CHUNK_SECTORS * SECTOR);
        for (int first = 0; first < sectors; first += CHUNK_SECTORS) {
            int count = Math.min(CHUNK_SECTORS, sectors - first);
            long at = (guest.diskRegionStart() + first) * SECTOR;
            read(img, a, at, count * SECTOR);
            if (org != null) {
                read(org, b, at, count * SECTOR);
            }
            for (int s = 0; s < count; s++) {
                int i = first + s;
                DiskRecords.Found record = DiskRecords.read(a.position(s * SECTOR), disk, guest.diskRegionStart() + i);
                found[i] = record.write();
                if (record.write() > 0 && record.damage() != null) {
                    damaged.put(i, record.damage());
                }
                if (org != null && a.slice(s * SECTOR, SECTOR).equals(b.slice(s * SECTOR, SECTOR))) {
                    asOriginal.set(i);
                }
            }
        }
    }

    /** The highest write number among intact records; it must be the last completed write or the one after. */
    private long newestWrite() {
        long newest = 0;
        for (int i = 0; i < found.length; i++) {
            if (!damaged.containsKey(i)) {
                newest = Math.max(newest, found[i]);
            }
        }
        if (newest < lastCompleted) {
            problems.add(name + ": the newest write found is #" + newest + ", but the guest had completed #"
                + lastCompleted);
        } else if (newest > lastCompleted + 1) {
            problems.add(name + ": found write #" + newest + ", but the guest had completed only #" + lastCompleted
                + " (and at most #" + (lastCompleted + 1) + " may have been in flight)");
        }
        return newest;
    }

    /** Sector i must hold the largest write k <= newest with k - 1 = i (mod sectors), or be as the original. */
    private void checkRegion(long newest, boolean haveOriginal) {
        int sectors = found.length;
        for (int i = 0; i < sectors; i++) {
            long lba = guest.diskRegionStart() + i;
            long expected = newest >= i + 1 ? i + 1 + (newest - 1 - i) / sectors * sectors : 0;
            long write = found[i];
            String damage = damaged.get(i);
            if (expected > 0 && (write != expected || damage != null)) {
                String holds = write == 0 ? "no record" + (asOriginal.get(i) ? " (the original data)" : "")
                    : damage != null ? damage + " of write #" + write
                    : "write #" + write + (write < expected ? " (a later write is lost)" : " (a write not yet made)");
                problems.add(name + ": LBA " + lba + " holds " + holds + ", expected write #" + expected);
            } else if (expected == 0 && write > 0) {
                problems.add(name + ": LBA " + lba + " holds " + (damage != null ? damage + " of " : "") + "write #"
                    + write + ", expected none (writes up to #" + newest + " do not reach it)");
            } else if (expected == 0 && haveOriginal && !asOriginal.get(i)) {
                problems.add(name + ": LBA " + lba + " (not yet written by the guest) differs from the original");
            }
        }
    }

    /** Outside the region the image must equal the original, sector for sector. */
    private void checkOutside(FileChannel img, FileChannel org) throws IOException {
        long regionFirst = guest.diskRegionStart();
        long regionEnd = regionFirst + guest.diskRegionSectors();
        long total = img.size() / SECTOR;
        ByteBuffer a = ByteBuffer.allocate(CHUNK_SECTORS * SECTOR);
        ByteBuffer b = ByteBuffer.allocate(CHUNK_SECTORS * SECTOR);
        for (long first = 0; first < total; first += CHUNK_SECTORS) {
            int count = (int) Math.min(CHUNK_SECTORS, total - first);
            read(img, a, first * SECTOR, count * SECTOR);
            read(org, b, first * SECTOR, count * SECTOR);
            if (a.equals(b)) {
                continue;
            }
            for (int s = 0; s < count; s++) {
                long lba = first + s;
                if ((lba < regionFirst || lba >= regionEnd)
                    && !a.slice(s * SECTOR, SECTOR).equals(b.slice(s * SECTOR, SECTOR))) {
                    DiskRecords.Found record = DiskRecords.read(a.position(s * SECTOR), disk, lba);
                    problems.add(name + ": LBA " + lba + ", outside the region " + regionFirst + ".." + (regionEnd - 1)
                        + ", differs from the original" + (record.write() > 0 ? " (holds write #" + record.write() + ")" : ""));
                }
            }
        }
        long tail = img.size() % SECTOR;
        if (tail > 0) {
            read(img, a, total * SECTOR, (int) tail);
            read(org, b, total * SECTOR, (int) tail);
            if (!a.equals(b)) {
                problems.add(name + ": the last " + tail + " bytes (part of a sector) differ from the original");
            }
        }
    }

    private static void read(FileChannel ch, ByteBuffer into, long at, int length) throws IOException {
        into.clear().limit(length);
        while (into.hasRemaining()) {
            if (ch.read(into, at + into.position()) < 0) {
                throw new IOException("unexpected end of image at byte " + (at + into.position()));
            }
        }
        into.flip();
    }

    /** {@code image} itself when raw, else a raw copy of it made with {@code qemu-img convert}. */
    private static Path raw(Path image, Path copy) throws IOException {
        byte[] head;
        try (InputStream in = Files.newInputStream(image)) {
            head = in.readNBytes(QCOW2_MAGIC.length);
        }
        if (!java.util.Arrays.equals(head, QCOW2_MAGIC)) {
            return image;
        }
        Commands.require("qemu-img", "qemu-utils", "to read qcow2 images");
        Commands.run(null, Duration.ofMinutes(10),
            List.of("qemu-img", "convert", "-f", "qcow2", "-O", "raw", image.toString(), copy.toString()));
        return copy;
    }
}
