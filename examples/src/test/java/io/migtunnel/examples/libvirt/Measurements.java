package io.migtunnel.examples.libvirt;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Migration time and downtime per route and variant, measured in one run, for the README's
 * table: never asserted on. "virsh migrate" is the wall-clock time of the command (connection,
 * preparation on both hosts, disk mirror, RAM, switch-over, finish); "job" and "downtime" are
 * the source's {@code virsh domjobinfo --completed} "Time elapsed" and "Total downtime".
 */
final class Measurements {
    private record Row(String variant, String route, long wallMillis, long jobMillis, long downtimeMillis) {
    }

    private final List<Row> rows = new ArrayList<>();

    synchronized void record(Migration.Result result) throws Exception {
        JobInfo done = result.completed();
        Row row = new Row(result.migration().variant().name().toLowerCase(Locale.ROOT),
            result.migration().route().label(), result.exit().took().toMillis(), done.timeElapsedMillis(),
            done.downtimeMillis());
        rows.add(row);
        System.out.printf(Locale.ROOT, "measured: %s %s: virsh migrate %d ms, job %d ms, downtime %d ms%n",
            row.variant, row.route, row.wallMillis, row.jobMillis, row.downtimeMillis);
    }

    /** A Markdown table of every measurement, by variant. */
    synchronized String table() {
        StringBuilder sb = new StringBuilder("| variant | route | virsh migrate (ms) | job, domjobinfo (ms) | downtime (ms) |\n"
            + "|---|---|---:|---:|---:|\n");
        rows.stream().sorted(java.util.Comparator.comparing(Row::variant).thenComparing(Row::route))
            .forEach(r -> sb.append(String.format(Locale.ROOT, "| %s | %s | %d | %d | %d |%n", r.variant, r.route,
                r.wallMillis, r.jobMillis, r.downtimeMillis)));
        return sb.toString();
    }

    synchronized boolean isEmpty() {
        return rows.isEmpty();
    }
}
