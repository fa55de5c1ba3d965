package io.migtunnel.qemu.migration;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * One reading of a migration's progress.
 *
 * @param step the current step
 * @param elapsed time since the migration began
 * @param disks one entry per mirrored disk (empty before the mirrors start)
 * @param ram RAM and device state; null before the migration of RAM starts
 */
public record MigrationProgress(MigrationStep step, Duration elapsed, List<Disk> disks, Ram ram) {

    public MigrationProgress {
        Objects.requireNonNull(step, "step");
        disks = List.copyOf(disks);
    }

    /**
     * A disk mirror, from {@code query-block-jobs}.
     *
     * @param id the disk id
     * @param copied bytes copied ({@code offset})
     * @param total bytes to copy so far ({@code len}; grows while the guest writes)
     * @param ready whether the mirror has caught up once ({@code BLOCK_JOB_READY})
     */
    public record Disk(String id, long copied, long total, boolean ready) {
    }

    /**
     * RAM, from {@code query-migrate}.
     *
     * @param status QEMU's migration status, e.g. {@code active}, {@code pre-switchover}, {@code completed}
     * @param transferred bytes sent
     * @param remaining bytes still to send
     * @param total guest RAM in bytes
     * @param dirtyBytesPerSecond how fast the guest dirties RAM
     * @param expectedDowntimeMs QEMU's estimate of the pause at switch-over
     * @param mbps QEMU's measured throughput, megabits per second
     * @param passes passes over RAM so far ({@code dirty-sync-count}; 1 during the first)
     * @param throttlePercent the vCPU throttle auto-converge applies now, 0 when none
     */
    public record Ram(String status, long transferred, long remaining, long total, long dirtyBytesPerSecond,
                      long expectedDowntimeMs, double mbps, int passes, int throttlePercent) {
    }
}
