package io.migtunnel.qemu.vm;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The busy guest's disk record (guest.c: make_record): 128 little-endian words in one 512-byte
 * sector. 0 magic "MTDW", 1 disk index, 2-3 write number k, 4-5 LBA, 6 RAM sweep when written,
 * 7 version, 8..126 a fill derived from k, 127 an FNV-1a checksum of words 0..126.
 */
final class DiskRecords {
    static final int MAGIC = 0x5744544D;
    static final int VERSION = 1;
    static final int WORDS = BusyGuest.SECTOR_BYTES / Integer.BYTES;

    /**
     * What a sector holds: {@code write} is the record's k (0 when it is no record at all), and
     * {@code damage} says what is wrong with it, null for an intact record of this disk and LBA.
     */
    record Found(long write, String damage) {
        boolean intact() {
            return write > 0 && damage == null;
        }
    }

    private DiskRecords() {
    }

    /** The record of write {@code k} to {@code lba} of disk {@code disk}, as the guest writes it. */
    static byte[] encode(int disk, long k, long lba, int sweep) {
        int[] w = new int[WORDS];
        w[0] = MAGIC;
        w[1] = disk;
        w[2] = (int) k;
        w[3] = (int) (k >>> 32);
        w[4] = (int) lba;
        w[5] = (int) (lba >>> 32);
        w[6] = sweep;
        w[7] = VERSION;
        for (int j = 8; j < WORDS - 1; j++) {
            w[j] = fill(k, j);
        }
        w[WORDS - 1] = checksum(w);
        ByteBuffer b = ByteBuffer.allocate(BusyGuest.SECTOR_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : w) {
            b.putInt(v);
        }
        return b.array();
    }

    /** Reads the sector at {@code sector}'s position (512 bytes, not moving it) as a record of {@code disk} at {@code lba}. */
    static Found read(ByteBuffer sector, int disk, long lba) {
        ByteBuffer b = sector.slice(sector.position(), BusyGuest.SECTOR_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        int[] w = new int[WORDS];
        for (int j = 0; j < WORDS; j++) {
            w[j] = b.getInt(j * Integer.BYTES);
        }
        if (w[0] != MAGIC) {
            return new Found(0, "no record");
        }
        long k = Integer.toUnsignedLong(w[2]) | (long) w[3] << 32;
        long recordLba = Integer.toUnsignedLong(w[4]) | (long) w[5] << 32;
        if (w[WORDS - 1] != checksum(w)) {
            return new Found(k, "a damaged record (bad checksum)");
        }
        if (w[7] != VERSION) {
            return new Found(k, "a record of version " + w[7]);
        }
        for (int j = 8; j < WORDS - 1; j++) {
            if (w[j] != fill(k, j)) {
                return new Found(k, "a damaged record (fill word " + j + ")");
            }
        }
        if (w[1] != disk) {
            return new Found(k, "a record of disk " + w[1]);
        }
        if (recordLba != lba) {
            return new Found(k, "a record for LBA " + recordLba);
        }
        return new Found(k, null);
    }

    private static int fill(long k, int word) {
        int seed = GuestPages.mix((int) k ^ GuestPages.mix((int) (k >>> 32) + 0x3C6EF372));
        return GuestPages.mix(seed + word * 0x9E3779B9);
    }

    private static int checksum(int[] w) {
        int h = 0x811C9DC5;
        for (int j = 0; j < WORDS - 1; j++) {
            h = (h ^ w[j]) * 16777619;
        }
        return h;
    }
}
