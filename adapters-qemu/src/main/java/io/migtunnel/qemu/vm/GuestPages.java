package io.migtunnel.qemu.vm;

/**
 * The busy guest's page format (guest.c: fill, dirty_one). Each 4 KiB page of the range, index i
 * from the range's start, holds 1024 little-endian words: a header of magic "MTPG", i, the sweep
 * that last wrote it (0 = the initial fill) and {@link #check}; then words 4..1023 =
 * {@link #bodyWord}, written once at boot.
 */
final class GuestPages {
    static final int MAGIC = 0x4750544D;
    static final int HEADER_WORDS = 4;
    static final int WORDS = BusyGuest.PAGE_BYTES / Integer.BYTES;

    private GuestPages() {
    }

    /** murmur3's finaliser, as the guest's mix(). */
    static int mix(int h) {
        h ^= h >>> 16;
        h *= 0x85EBCA6B;
        h ^= h >>> 13;
        h *= 0xC2B2AE35;
        h ^= h >>> 16;
        return h;
    }

    /** Header word 3 of page {@code index} at {@code sweep}. */
    static int check(int index, int sweep) {
        return mix(mix(index ^ 0xA5A5A5A5) + sweep);
    }

    /** Body word {@code word} (4..1023) of page {@code index}. */
    static int bodyWord(int index, int word) {
        return mix(((index << 10) | word) ^ 0x6D74676B);
    }
}
