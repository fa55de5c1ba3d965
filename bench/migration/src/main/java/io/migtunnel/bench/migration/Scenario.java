package io.migtunnel.bench.migration;

import io.migtunnel.qemu.vm.BusyGuest;
import java.time.Duration;

/**
 * What one migration of the bench does: the busy guest and its VM, the disks, and the migration's
 * capabilities and parameters.
 *
 * @param name                   the row's label
 * @param guest                  the busy guest the source runs
 * @param memoryMiB              the VM's RAM
 * @param diskBytes              each of the two disks (random data, mirrored before the RAM phase)
 * @param maxBandwidth           QEMU's precopy {@code max-bandwidth}, bytes/s
 * @param postcopyAfterFirstPass switch to postcopy once the first full pass is done ({@code dirty-sync-count} 2)
 * @param multifd                multifd channels; 0: off
 * @param compression            {@code multifd-compression}: none, zlib or zstd
 * @param xbzrleCache            the XBZRLE cache, bytes; 0: off
 * @param autoConverge           QEMU's {@code auto-converge} (vCPU throttling from 20 %, by 10 %: QEMU's defaults)
 * @param limit                  the RAM phase's deadline: past it the migration is cancelled and reported as not converged
 * @param postcopyAfter          switch to postcopy this long after {@code migrate}; null: never (or after the first pass)
 * @param preempt                QEMU's {@code postcopy-preempt} on both sides
 * @param competingNbd           during the RAM phase, nbdcopy writes to another NBD server through the same relay
 *                               (stream {@code nbd/bulk}), as another VM's disk migration would
 */
record Scenario(String name, BusyGuest guest, int memoryMiB, long diskBytes, long maxBandwidth,
                boolean postcopyAfterFirstPass, int multifd, String compression, long xbzrleCache, boolean autoConverge,
                Duration limit, Duration postcopyAfter, boolean preempt, boolean competingNbd) {
    static final long MiB = 1L << 20;
    /** As good as no limit: QEMU's default {@code max-bandwidth} is 128 MiB/s. */
    static final long UNLIMITED = 100_000 * MiB;

    Scenario withName(String n) {
        return new Scenario(n, guest, memoryMiB, diskBytes, maxBandwidth, postcopyAfterFirstPass, multifd, compression,
            xbzrleCache, autoConverge, limit, postcopyAfter, preempt, competingNbd);
    }

    Scenario withMultifd(int channels, String method) {
        return new Scenario(name, guest, memoryMiB, diskBytes, maxBandwidth, postcopyAfterFirstPass, channels, method,
            xbzrleCache, autoConverge, limit, postcopyAfter, preempt, competingNbd);
    }

    Scenario withAutoConverge() {
        return new Scenario(name, guest, memoryMiB, diskBytes, maxBandwidth, postcopyAfterFirstPass, multifd, compression,
            xbzrleCache, true, limit, postcopyAfter, preempt, competingNbd);
    }

    Scenario withXbzrleCache(long bytes) {
        return new Scenario(name, guest, memoryMiB, diskBytes, maxBandwidth, postcopyAfterFirstPass, multifd, compression,
            bytes, autoConverge, limit, postcopyAfter, preempt, competingNbd);
    }

    /** A guest dirtying 256 MiB at 48 MiB/s: converges in a few passes on an unthrottled link. */
    static Scenario precopy() {
        BusyGuest g = BusyGuest.defaults().withRam(BusyGuest.MIN_RAM_START, 256 * MiB).withDirtyRate(48 * 1024);
        return new Scenario("precopy", g, 320, 256 * MiB, UNLIMITED, false, 0, "none", 0, false, Duration.ofSeconds(120),
            null, false, false);
    }

    /**
     * A guest dirtying 128 MiB as fast as TCG goes, precopy limited to 32 MiB/s: it never
     * converges, so it switches to postcopy after the first pass; postcopy itself is unthrottled.
     */
    static Scenario postcopyAfterPrecopy() {
        BusyGuest g = BusyGuest.defaults().withRam(BusyGuest.MIN_RAM_START, 128 * MiB).withDirtyRate(0);
        return new Scenario("postcopy-after-precopy", g, 192, 128 * MiB, 32 * MiB, true, 0, "none", 0, false,
            Duration.ofSeconds(120), null, false, false);
    }

    /**
     * A guest dirtying 128 MiB at 96 MiB/s over a 64 MiB/s link: plain precopy cannot converge; the
     * tuning rows show what compression and XBZRLE change.
     */
    static Scenario tuning() {
        BusyGuest g = BusyGuest.defaults().withRam(BusyGuest.MIN_RAM_START, 128 * MiB).withDirtyRate(96 * 1024);
        return new Scenario("plain", g, 192, 64 * MiB, 64 * MiB, false, 0, "none", 0, false, Duration.ofSeconds(40),
            null, false, false);
    }

    /**
     * Postcopy under load (issue 11): a guest writing every page of 128 MiB as fast as TCG goes,
     * precopy at 8 MiB/s for one second, then postcopy, so most pages arrive by postcopy, many of
     * them as page faults; all the while nbdcopy pushes another disk through the same relay.
     * {@code preempt}: with QEMU's postcopy-preempt.
     */
    static Scenario postcopyUnderLoad(boolean preempt) {
        BusyGuest g = BusyGuest.defaults().withRam(BusyGuest.MIN_RAM_START, 128 * MiB).withDirtyRate(0);
        return new Scenario(preempt ? "postcopy-load-preempt" : "postcopy-load", g, 192, 32 * MiB, 8 * MiB, false, 0,
            "none", 0, false, Duration.ofSeconds(120), Duration.ofSeconds(1), preempt, true);
    }

    /** Whether this scenario runs postcopy. */
    boolean postcopy() {
        return postcopyAfterFirstPass || postcopyAfter != null;
    }
}
