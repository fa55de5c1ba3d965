package io.migtunnel.qemu.vm;

import java.io.IOException;
import java.nio.file.Path;

/**
 * migtunnel's busy guest: a tiny multiboot kernel that dirties a RAM range and writes a region of
 * every IDE disk at chosen rates, so that a migration of the VM it runs in can be checked for lost
 * pages and writes ({@link GuestCheck}). Start it with {@link QemuVm.Builder#busyGuest}.
 *
 * <p>RAM: the guest fills each 4 KiB page of {@code [ramStart, ramStart + ramBytes)} once, with a
 * body that is a function of the page's index, then sweeps the range for ever, rewriting only each
 * page's 16-byte header (sweep number) after checking it still holds the previous sweep's. Disks:
 * write k (k = 1, 2, ...) of disk n goes to sector {@code diskRegionStart + (k - 1) mod
 * diskRegionSectors}, as a 512-byte record naming n, k and its LBA. Its progress is in a
 * {@link GuestStatus} block at {@link GuestStatus#ADDRESS}.
 *
 * @param ramStart            guest-physical start of the range to dirty: page-aligned, at least {@link #MIN_RAM_START}
 * @param ramBytes            size of the range: a positive multiple of 4 KiB, the range ending by {@link #MAX_RAM_END}
 * @param dirtyKiBPerSecond   how fast to dirty the range (KiB of pages a second); 0 = as fast as the CPU goes
 * @param diskWritesPerSecond sector writes a second to each disk; 0 = none
 * @param diskRegionStart     first sector (LBA) of the region written on each disk
 * @param diskRegionSectors   sectors in that region, at most {@link #MAX_REGION_SECTORS}, ending within LBA28
 */
public record BusyGuest(long ramStart, long ramBytes, long dirtyKiBPerSecond, int diskWritesPerSecond,
                        long diskRegionStart, int diskRegionSectors) {
    /** Pages are 4 KiB. */
    public static final int PAGE_BYTES = 4096;
    /** Sectors are 512 bytes. */
    public static final int SECTOR_BYTES = 512;
    /** Where the multiboot loader puts the kernel (it ends below {@link GuestStatus#ADDRESS}). */
    public static final long KERNEL_ADDRESS = 1L << 20;
    /** The lowest range start: above the kernel (at 1 MiB) and the status block (just below 4 MiB). */
    public static final long MIN_RAM_START = 4L << 20;
    /** The range ends at most here: RAM below the PCI hole of the pc machine. */
    public static final long MAX_RAM_END = 3L << 30;
    /** The guest writes LBA28 sectors. */
    public static final long MAX_LBA = 1L << 28;
    /** A bound on the region, so the checker's per-sector table stays small (32 MiB). */
    public static final int MAX_REGION_SECTORS = 1 << 22;
    /** The IDE slots of the pc machine: ide.0 unit 0 and 1, ide.1 unit 0 and 1. */
    public static final int MAX_DISKS = 4;

    /** Checks every parameter, naming the one that is out of range. */
    public BusyGuest {
        if (ramStart < MIN_RAM_START || ramStart % PAGE_BYTES != 0) {
            throw new IllegalArgumentException("ramStart must be 4 KiB-aligned and at least 0x"
                + Long.toHexString(MIN_RAM_START) + " (above the kernel and status block), not 0x" + Long.toHexString(ramStart));
        }
        if (ramBytes <= 0 || ramBytes % PAGE_BYTES != 0) {
            throw new IllegalArgumentException("ramBytes must be a positive multiple of 4096, not " + ramBytes);
        }
        if (ramStart + ramBytes > MAX_RAM_END) {
            throw new IllegalArgumentException("the RAM range 0x" + Long.toHexString(ramStart) + "+0x"
                + Long.toHexString(ramBytes) + " ends beyond 0x" + Long.toHexString(MAX_RAM_END));
        }
        if (dirtyKiBPerSecond < 0 || dirtyKiBPerSecond > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("dirtyKiBPerSecond must be 0 (flat out) or positive, below 2^32, not "
                + dirtyKiBPerSecond);
        }
        if (diskWritesPerSecond < 0) {
            throw new IllegalArgumentException("diskWritesPerSecond must be 0 (none) or positive, not " + diskWritesPerSecond);
        }
        if (diskRegionSectors < 1 || diskRegionSectors > MAX_REGION_SECTORS) {
            throw new IllegalArgumentException("diskRegionSectors must be 1.." + MAX_REGION_SECTORS + ", not "
                + diskRegionSectors);
        }
        if (diskRegionStart < 0 || diskRegionStart + diskRegionSectors > MAX_LBA) {
            throw new IllegalArgumentException("the disk region " + diskRegionStart + "+" + diskRegionSectors
                + " must start at a sector >= 0 and end within LBA28 (" + MAX_LBA + " sectors)");
        }
    }

    /** A 32 MiB range at 4 MiB dirtied flat out, 50 writes a second to each disk in sectors 2048..4095. */
    public static BusyGuest defaults() {
        return new BusyGuest(MIN_RAM_START, 32L << 20, 0, 50, 2048, 2048);
    }

    /** This guest dirtying {@code bytes} of RAM from {@code start}. */
    public BusyGuest withRam(long start, long bytes) {
        return new BusyGuest(start, bytes, dirtyKiBPerSecond, diskWritesPerSecond, diskRegionStart, diskRegionSectors);
    }

    /** This guest dirtying {@code kibPerSecond} KiB of pages a second (0 = flat out). */
    public BusyGuest withDirtyRate(long kibPerSecond) {
        return new BusyGuest(ramStart, ramBytes, kibPerSecond, diskWritesPerSecond, diskRegionStart, diskRegionSectors);
    }

    /** This guest writing {@code perSecond} sectors a second to each disk (0 = none). */
    public BusyGuest withDiskWrites(int perSecond) {
        return new BusyGuest(ramStart, ramBytes, dirtyKiBPerSecond, perSecond, diskRegionStart, diskRegionSectors);
    }

    /** This guest writing sectors {@code startSector .. startSector + sectors - 1} of each disk. */
    public BusyGuest withDiskRegion(long startSector, int sectors) {
        return new BusyGuest(ramStart, ramBytes, dirtyKiBPerSecond, diskWritesPerSecond, startSector, sectors);
    }

    /** The pages in the range. */
    public int pageCount() {
        return (int) (ramBytes / PAGE_BYTES);
    }

    /** The first guest-physical address after the range. */
    public long ramEnd() {
        return ramStart + ramBytes;
    }

    /** The smallest disk the region fits on, in bytes. */
    public long minimumDiskBytes() {
        return (diskRegionStart + diskRegionSectors) * SECTOR_BYTES;
    }

    /**
     * The kernel's command line ({@code -append}): {@code ram_start=0x400000 ram_size=0x2000000
     * dirty_kib_s=0 disk_writes_s=50 region_start=2048 region_sectors=2048}.
     */
    public String commandLine() {
        return "ram_start=0x" + Long.toHexString(ramStart) + " ram_size=0x" + Long.toHexString(ramBytes)
            + " dirty_kib_s=" + dirtyKiBPerSecond + " disk_writes_s=" + diskWritesPerSecond
            + " region_start=" + diskRegionStart + " region_sectors=" + diskRegionSectors;
    }

    /**
     * The guest's kernel (an ELF multiboot image), built with gcc and ld on first use and cached in
     * {@code java.io.tmpdir} per source hash; throws naming the program or step that failed.
     */
    public static Path kernel() throws IOException {
        return GuestKernel.path();
    }
}
