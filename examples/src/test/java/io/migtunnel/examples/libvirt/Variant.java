package io.migtunnel.examples.libvirt;

import java.util.List;

/** The kinds of {@code virsh migrate --live --p2p --copy-storage-all} the suite runs. */
enum Variant {
    /** One migration connection; the disks are mirrored first, then RAM is copied until it converges. */
    PRECOPY(1),
    /** QEMU's multifd: a main connection and four channels, each its own stream through the tunnel. */
    PARALLEL(5, "--parallel", "--parallel-connections", "4"),
    /**
     * Switched to postcopy with {@code virsh migrate-postcopy} while RAM is being copied. The disks
     * are copied at 64 MiB/s; RAM, so that precopy cannot converge before the switch, at 1 MiB/s
     * (below the busy guest's dirty rate: {@link Migration#limitRamBandwidth}); postcopy itself is
     * not limited.
     */
    POSTCOPY(1, "--postcopy", "--bandwidth", "64");

    private final int migrationConnections;
    private final List<String> options;

    Variant(int migrationConnections, String... options) {
        this.migrationConnections = migrationConnections;
        this.options = List.of(options);
    }

    /** The options of {@code virsh migrate} that make this variant. */
    List<String> options() {
        return options;
    }

    /** The connections QEMU opens for the migration stream (not counting NBD). */
    int migrationConnections() {
        return migrationConnections;
    }
}
