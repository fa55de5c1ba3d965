package io.migtunnel.qemu.migration;

import java.time.Duration;
import java.util.List;

/**
 * What a completed migration moved and how long it took.
 *
 * @param vm the VM's name
 * @param disks bytes copied per disk by its mirror
 * @param ramBytes bytes of RAM and device state QEMU sent
 * @param elapsed from the start of {@link SourceMigration#run()} to the destination's confirmation
 * @param downtimeMs the pause QEMU reports at switch-over
 * @param destinationStatus the destination VM's status at the end, normally {@code running}
 */
public record MigrationSummary(String vm, List<Disk> disks, long ramBytes, Duration elapsed, long downtimeMs,
                               String destinationStatus) {

    public MigrationSummary {
        disks = List.copyOf(disks);
    }

    /** Bytes of one disk's mirror. */
    public record Disk(String id, long bytes) {
    }

    /** Disk and RAM bytes together. */
    public long totalBytes() {
        return ramBytes + disks.stream().mapToLong(Disk::bytes).sum();
    }

    /** {@link #totalBytes()} over {@link #elapsed()}, in bytes per second. */
    public double averageBytesPerSecond() {
        double seconds = elapsed.toNanos() / 1e9;
        return seconds > 0 ? totalBytes() / seconds : 0;
    }
}
