package io.migtunnel.qemu.migration;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What to migrate and how.
 *
 * @param vm the VM's name on the destination (which QMP socket a {@code --qmp-dir} daemon uses);
 *     null: QEMU's own {@code -name}, else {@code vm}
 * @param disks disk ids (drive id, or node name for {@code -blockdev}) to mirror; empty: every
 *     disk with a writable medium
 * @param multifdChannels multifd channels, 0 for a single migration channel
 * @param postcopy switch to postcopy as soon as the migration runs
 * @param postcopyPreempt QEMU's {@code postcopy-preempt} on both sides: pages a vCPU waits for go on
 *     a second channel (stream {@code migration/preempt}, the most urgent), past the bulk of the
 *     background pages; needs postcopy, so not with multifd
 * @param maxBandwidth bytes per second for RAM, 0 for no limit
 * @param mirrorBandwidth bytes per second per disk mirror, 0 for no limit
 * @param mirrorTimeout how long the disk mirrors may take to reach their first sync
 * @param migrationTimeout how long RAM and device state may take once the mirrors are in sync
 * @param switchoverTimeout how long the source VM may stay paused for the switch-over (completing
 *     the mirrors, then, for precopy, the last RAM and device state); past it the migration rolls
 *     back and the source VM runs again
 * @param convergence downtime limit, throttling, switching to postcopy, timeout, compression
 */
public record MigrationOptions(String vm, List<String> disks, int multifdChannels, boolean postcopy,
                               boolean postcopyPreempt, long maxBandwidth, long mirrorBandwidth, Duration mirrorTimeout,
                               Duration migrationTimeout, Duration switchoverTimeout, ConvergenceOptions convergence) {

    /** QEMU's limit for {@code max-bandwidth} is far above this; it stands for "no limit". */
    public static final long UNLIMITED_BANDWIDTH = 1L << 40;
    /** The default {@link #switchoverTimeout()}. */
    public static final Duration DEFAULT_SWITCHOVER_TIMEOUT = Duration.ofSeconds(30);

    public MigrationOptions {
        disks = List.copyOf(disks);
        if (multifdChannels < 0 || multifdChannels > 255) {
            throw new IllegalArgumentException("multifd channels must be 0 to 255, got " + multifdChannels);
        }
        if (maxBandwidth < 0) {
            throw new IllegalArgumentException("max bandwidth must not be negative, got " + maxBandwidth);
        }
        if (mirrorBandwidth < 0) {
            throw new IllegalArgumentException("mirror bandwidth must not be negative, got " + mirrorBandwidth);
        }
        Objects.requireNonNull(mirrorTimeout, "mirrorTimeout");
        Objects.requireNonNull(migrationTimeout, "migrationTimeout");
        Objects.requireNonNull(switchoverTimeout, "switchoverTimeout");
        if (switchoverTimeout.isNegative() || switchoverTimeout.isZero()) {
            throw new IllegalArgumentException("the switch-over timeout must be positive, got " + switchoverTimeout);
        }
        Objects.requireNonNull(convergence, "convergence");
        refuseCombinations(multifdChannels, postcopy, postcopyPreempt, convergence);
    }

    /** What QEMU 7.2 refuses or ignores, refused before anything starts, naming both options. */
    private static void refuseCombinations(int multifd, boolean postcopy, boolean preempt, ConvergenceOptions c) {
        if (preempt && !postcopy && !c.maySwitchToPostcopy()) {
            throw new IllegalArgumentException("postcopy-preempt (--postcopy-preempt) needs postcopy (--postcopy, "
                + "--postcopy-after-precopy or --timeout-action postcopy): QEMU's postcopy-preempt requires "
                + "postcopy-ram");
        }
        if (multifd > 0 && (postcopy || c.maySwitchToPostcopy())) {
            throw new IllegalArgumentException((postcopy ? "postcopy (--postcopy)" : c.postcopyAfterPrecopy()
                ? "switching to postcopy (--postcopy-after-precopy)" : "switching to postcopy (--timeout-action postcopy)")
                + " cannot be combined with multifd (--multifd): QEMU 7.2 sends postcopy pages on the main channel only "
                + "and does not support the two together");
        }
        if (c.compression() != ConvergenceOptions.Compression.NONE && multifd == 0) {
            throw new IllegalArgumentException("compression (--compress " + c.compression().qemuName()
                + ") needs multifd (--multifd N): QEMU compresses multifd channels only");
        }
        if (c.xbzrleCacheBytes() > 0 && multifd > 0) {
            throw new IllegalArgumentException("XBZRLE (--xbzrle-cache) has no effect with multifd (--multifd): QEMU "
                + "sends multifd pages whole");
        }
        if (postcopy && c.postcopyAfterPrecopy()) {
            throw new IllegalArgumentException("postcopy (--postcopy) already switches at once; "
                + "--postcopy-after-precopy cannot be combined with it");
        }
        if (postcopy && c.timeoutAction() == ConvergenceOptions.TimeoutAction.POSTCOPY) {
            throw new IllegalArgumentException("postcopy (--postcopy) already switches at once; "
                + "--timeout-action postcopy cannot be combined with it");
        }
    }

    /** Whether postcopy may run: asked for at once, or as a way to converge. */
    public boolean mayRunPostcopy() {
        return postcopy || convergence.maySwitchToPostcopy();
    }

    /**
     * Every writable disk, one channel, precopy, no bandwidth limit, one hour for the mirrors and one
     * for RAM, {@link #DEFAULT_SWITCHOVER_TIMEOUT} paused, {@link ConvergenceOptions#defaults()}.
     */
    public static MigrationOptions defaults() {
        return new MigrationOptions(null, List.of(), 0, false, false, 0, 0, Duration.ofHours(1), Duration.ofHours(1),
            DEFAULT_SWITCHOVER_TIMEOUT, ConvergenceOptions.defaults());
    }

    public MigrationOptions withVm(String name) {
        return new MigrationOptions(name, disks, multifdChannels, postcopy, postcopyPreempt, maxBandwidth,
            mirrorBandwidth, mirrorTimeout, migrationTimeout, switchoverTimeout, convergence);
    }

    public MigrationOptions withDisks(List<String> ids) {
        return new MigrationOptions(vm, ids, multifdChannels, postcopy, postcopyPreempt, maxBandwidth, mirrorBandwidth,
            mirrorTimeout, migrationTimeout, switchoverTimeout, convergence);
    }

    public MigrationOptions withMultifd(int channels) {
        return new MigrationOptions(vm, disks, channels, postcopy, postcopyPreempt, maxBandwidth, mirrorBandwidth,
            mirrorTimeout, migrationTimeout, switchoverTimeout, convergence);
    }

    public MigrationOptions withPostcopy(boolean on) {
        return new MigrationOptions(vm, disks, multifdChannels, on, postcopyPreempt, maxBandwidth, mirrorBandwidth,
            mirrorTimeout, migrationTimeout, switchoverTimeout, convergence);
    }

    /** QEMU's postcopy-preempt ({@link #postcopyPreempt()}); set it after postcopy and the convergence options. */
    public MigrationOptions withPostcopyPreempt(boolean on) {
        return new MigrationOptions(vm, disks, multifdChannels, postcopy, on, maxBandwidth, mirrorBandwidth,
            mirrorTimeout, migrationTimeout, switchoverTimeout, convergence);
    }

    public MigrationOptions withMaxBandwidth(long bytesPerSecond) {
        return new MigrationOptions(vm, disks, multifdChannels, postcopy, postcopyPreempt, bytesPerSecond,
            mirrorBandwidth, mirrorTimeout, migrationTimeout, switchoverTimeout, convergence);
    }

    public MigrationOptions withMirrorBandwidth(long bytesPerSecond) {
        return new MigrationOptions(vm, disks, multifdChannels, postcopy, postcopyPreempt, maxBandwidth,
            bytesPerSecond, mirrorTimeout, migrationTimeout, switchoverTimeout, convergence);
    }

    public MigrationOptions withTimeouts(Duration mirror, Duration migration) {
        return new MigrationOptions(vm, disks, multifdChannels, postcopy, postcopyPreempt, maxBandwidth,
            mirrorBandwidth, mirror, migration, switchoverTimeout, convergence);
    }

    public MigrationOptions withSwitchoverTimeout(Duration timeout) {
        return new MigrationOptions(vm, disks, multifdChannels, postcopy, postcopyPreempt, maxBandwidth,
            mirrorBandwidth, mirrorTimeout, migrationTimeout, timeout, convergence);
    }

    public MigrationOptions withConvergence(ConvergenceOptions options) {
        return new MigrationOptions(vm, disks, multifdChannels, postcopy, postcopyPreempt, maxBandwidth,
            mirrorBandwidth, mirrorTimeout, migrationTimeout, switchoverTimeout, options);
    }
}
