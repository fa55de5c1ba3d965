package io.migtunnel.cli;

import io.migtunnel.qemu.migration.MigrationSummary;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The lines {@code migrate} and {@code demo} print after a successful migration. */
final class SummaryText {
    private SummaryText() {
    }

    static List<String> lines(MigrationSummary s) {
        List<String> lines = new ArrayList<>();
        lines.add("migrated VM '" + s.vm() + "': destination " + s.destinationStatus());
        for (MigrationSummary.Disk d : s.disks()) {
            lines.add(String.format(Locale.ROOT, "  disk %-12s %12d bytes (%s)", d.id(), d.bytes(), ByteUnits.bytes(d.bytes())));
        }
        lines.add(String.format(Locale.ROOT, "  RAM  %-12s %12d bytes (%s)", "", s.ramBytes(), ByteUnits.bytes(s.ramBytes())));
        lines.add(String.format(Locale.ROOT, "  total time %.2f s, downtime %d ms (QEMU), average %s/s",
            s.elapsed().toMillis() / 1000.0, s.downtimeMs(), ByteUnits.bytes(s.averageBytesPerSecond())));
        lines.add("  " + s.convergence().describe() + (s.postcopyBlocktimeMs() >= 0
            ? ", postcopy blocktime " + s.postcopyBlocktimeMs() + " ms (vCPUs waiting for pages)" : ""));
        return lines;
    }
}
