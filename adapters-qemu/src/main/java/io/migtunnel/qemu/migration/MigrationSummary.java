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
 *     (for a guest paused by {@link ConvergenceOptions.TimeoutAction#PAUSE}: from that pause on)
 * @param destinationStatus the destination VM's status at the end, normally {@code running}
 * @param convergence how precopy got to the switch-over
 * @param postcopyBlocktimeMs the total time the destination's vCPUs waited for pages postcopy had
 *     not brought yet, as QEMU reports it ({@code postcopy-blocktime}); -1 when postcopy did not run
 */
public record MigrationSummary(String vm, List<Disk> disks, long ramBytes, Duration elapsed, long downtimeMs,
                               String destinationStatus, Convergence convergence, long postcopyBlocktimeMs) {

    public MigrationSummary {
        disks = List.copyOf(disks);
        java.util.Objects.requireNonNull(convergence, "convergence");
    }

    /**
     * How the migration got to the switch-over.
     *
     * @param kind what it took
     * @param passes passes over RAM ({@code dirty-sync-count})
     * @param throttlePercent the highest vCPU throttle auto-converge applied, 0 when none
     * @param after for a switch to postcopy or a pause: how long into the RAM phase it came
     */
    public record Convergence(Kind kind, int passes, int throttlePercent, Duration after) {

        /** What it took to converge. */
        public enum Kind {
            /** Precopy converged by itself. */
            CONVERGED,
            /** Precopy converged with auto-converge throttling the guest. */
            THROTTLED,
            /** Postcopy was asked for from the start. */
            POSTCOPY,
            /** Precopy did not converge, and the migration switched to postcopy. */
            SWITCHED_TO_POSTCOPY,
            /** Precopy did not converge, and the guest was paused so that it finished. */
            PAUSED
        }

        /** One phrase, e.g. "converged in 3 passes", "switched to postcopy after 12.4 s (2 passes)". */
        public String describe() {
            String p = passes + (passes == 1 ? " pass" : " passes");
            String t = String.format(java.util.Locale.ROOT, "%.1f s", after.toMillis() / 1000.0);
            return switch (kind) {
                case CONVERGED -> "converged in " + p;
                case THROTTLED -> "converged in " + p + ", throttled to " + throttlePercent + " %";
                case POSTCOPY -> "postcopy from the start (" + p + " of precopy)";
                case SWITCHED_TO_POSTCOPY -> "switched to postcopy after " + t + " (" + p + ")"
                    + (throttlePercent > 0 ? ", throttled to " + throttlePercent + " %" : "");
                case PAUSED -> "paused after " + t + " (" + p + ")"
                    + (throttlePercent > 0 ? ", throttled to " + throttlePercent + " %" : "");
            };
        }
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
