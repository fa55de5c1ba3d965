package io.migtunnel.bench.migration;

/**
 * One migration's figures, from QEMU's {@code query-migrate} and the bench's clock.
 *
 * @param path             how the streams went: direct, socat, splice, migtunnel
 * @param scenario         the scenario's name
 * @param converged        whether it completed within the scenario's limit
 * @param mirrorSeconds    the mirrors' start until every mirror was ready
 * @param ramSeconds       QEMU's {@code total-time} of the RAM phase (or the limit, when it did not converge)
 * @param totalSeconds     the mirrors' start until the migration completed
 * @param downtimeMillis   QEMU's {@code downtime} (includes completing the mirrors at the switch-over)
 * @param passes           {@code dirty-sync-count}
 * @param ramBytes         {@code ram.transferred}
 * @param postcopySeconds  the switch to postcopy until completed; -1 without postcopy
 * @param blocktimeMillis  the destination's {@code postcopy-blocktime}; -1 without postcopy
 * @param guestMiBps       how fast the guest dirtied RAM from {@code migrate} until the switch-over pause (or the limit)
 * @param competingMBps    the competing NBD copy's rate during the RAM phase ({@link CompetingNbd}); -1 without one
 * @param verified         what the check of the destination found (RAM and disks), or why it did not run
 */
record RunResult(String path, String scenario, boolean converged, double mirrorSeconds, double ramSeconds,
                 double totalSeconds, long downtimeMillis, long passes, long ramBytes, double postcopySeconds,
                 long blocktimeMillis, double guestMiBps, double competingMBps, String verified) {
    /** This result, with what the check of the destination found. */
    RunResult verified(String found) {
        return new RunResult(path, scenario, converged, mirrorSeconds, ramSeconds, totalSeconds, downtimeMillis, passes,
            ramBytes, postcopySeconds, blocktimeMillis, guestMiBps, competingMBps, found);
    }
}
