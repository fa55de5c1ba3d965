package io.migtunnel.qemu.vm;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * What the busy guest says about itself: its status block, {@link #SIZE} bytes at guest-physical
 * {@link #ADDRESS} (read with {@code pmemsave}, on a running or a stopped VM).
 *
 * <p>Little-endian layout: 0 magic "MTGS", 4 version, 8 sweep, 12 position (stored together in one
 * instruction), 16 pages dirtied, 24 PM timer ticks, 32 errors, 36 first bad page (0xFFFFFFFF =
 * none), 40 state, 44 mask of the disks written, 48 pages in the range, 52 PM timer port, 56 last
 * completed write of IDE slots 0..3 (8 bytes each), 88..111 the six parameters as parsed, 112
 * capacity in sectors of slots 0..3 (0 = no disk).
 *
 * @param sweep        the sweep in progress: 1, 2, ... (0 while the guest is still filling the range)
 * @param position     the index of the next page that sweep will write: pages before it hold
 *                     {@code sweep}, the others {@code sweep - 1}
 * @param pagesDirtied page headers written by sweeps since boot
 * @param lastWrites   per disk (IDE slot 0, 1, ...: the order disks were given to the builder), the
 *                     number of the last write that completed; as many entries as the last slot with a disk
 * @param errors       what the guest found wrong: pages not as it last wrote them, failed disk writes
 * @param firstBadPage the guest-physical address of the first page found wrong, -1 if none
 * @param ticks        ACPI PM timer ticks since boot ({@link #TICKS_PER_SECOND} a second of virtual time)
 */
public record GuestStatus(long sweep, long position, long pagesDirtied, List<Long> lastWrites, long errors,
                          long firstBadPage, long ticks) {
    /** Where the status block is in guest-physical memory: the page below 4 MiB. */
    public static final long ADDRESS = 0x3FF000L;
    /** The bytes of the status block. */
    public static final int SIZE = 128;
    /** The ACPI PM timer's frequency. */
    public static final long TICKS_PER_SECOND = 3_579_545L;

    static final int MAGIC = 0x5347544D;
    static final int VERSION = 1;
    /** The guest's states (offset 40). */
    static final int BOOTING = 0;
    static final int FILLING = 1;
    static final int RUNNING = 2;
    static final int HALTED = 3;

    public GuestStatus {
        lastWrites = List.copyOf(lastWrites);
    }

    /** Virtual time since the guest booted (stops while the VM is stopped). */
    public Duration uptime() {
        return Duration.ofNanos(ticks / TICKS_PER_SECOND * 1_000_000_000L
            + ticks % TICKS_PER_SECOND * 1_000_000_000L / TICKS_PER_SECOND);
    }

    /** The last completed write to disk {@code index}, 0 if none (or no such disk). */
    public long lastWrite(int index) {
        return index < lastWrites.size() ? lastWrites.get(index) : 0;
    }

    /** Whether {@code block} starts with the status block's magic and version. */
    static boolean present(byte[] block) {
        ByteBuffer b = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN);
        return block.length >= SIZE && b.getInt(0) == MAGIC && b.getInt(4) == VERSION;
    }

    /** The state word of a present block: {@link #BOOTING}, {@link #FILLING}, {@link #RUNNING} or {@link #HALTED}. */
    static int state(byte[] block) {
        return ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN).getInt(40);
    }

    /**
     * Parses a status block ({@link #SIZE} bytes read at {@link #ADDRESS}, e.g. by a
     * {@code pmemsave} of a VM started by libvirt); throws if it is not one.
     */
    public static GuestStatus parse(byte[] block) {
        if (!present(block)) {
            throw new IllegalArgumentException("no busy guest status block (magic and version) at 0x"
                + Long.toHexString(ADDRESS));
        }
        ByteBuffer b = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN);
        List<Long> writes = new ArrayList<>();
        int slots = 0;
        for (int slot = 0; slot < BusyGuest.MAX_DISKS; slot++) {
            if (b.getInt(112 + 4 * slot) != 0) {
                slots = slot + 1;
            }
        }
        for (int slot = 0; slot < slots; slot++) {
            writes.add(b.getLong(56 + 8 * slot));
        }
        long firstBad = Integer.toUnsignedLong(b.getInt(36));
        return new GuestStatus(Integer.toUnsignedLong(b.getInt(8)), Integer.toUnsignedLong(b.getInt(12)),
            b.getLong(16), writes, Integer.toUnsignedLong(b.getInt(32)), firstBad == 0xFFFF_FFFFL ? -1 : firstBad,
            b.getLong(24));
    }
}
