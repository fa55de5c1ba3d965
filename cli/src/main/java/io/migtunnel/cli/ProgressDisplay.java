package io.migtunnel.cli;

import io.migtunnel.qemu.migration.MigrationObserver;
import io.migtunnel.qemu.migration.MigrationProgress;
import io.migtunnel.qemu.migration.MigrationStep;
import java.io.PrintStream;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Shows a migration's progress: on a terminal, one bar per disk and one for RAM, redrawn in place;
 * otherwise a timestamped line per step and about one per second while data moves.
 */
final class ProgressDisplay implements MigrationObserver {
    private static final int BAR = 30;
    private static final long TERMINAL_REDRAW_NANOS = 200_000_000L;
    private static final long LINE_INTERVAL_NANOS = 1_000_000_000L;
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss");

    private final PrintStream out;
    private final boolean terminal;
    private int drawnLines;
    private long lastDraw;
    private MigrationStep drawnStep;

    ProgressDisplay(PrintStream out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
    }

    /** A display for standard output: bars when it is a terminal. */
    static ProgressDisplay forStdout() {
        return new ProgressDisplay(System.out, System.console() != null);
    }

    @Override
    public synchronized void onStep(MigrationStep step) {
        if (!terminal) {
            line("step: " + step.label());
        }
    }

    @Override
    public synchronized void onProgress(MigrationProgress p) {
        long now = System.nanoTime();
        boolean newStep = terminal && p.step() != drawnStep; // a new step is always drawn
        if (!newStep && now - lastDraw < (terminal ? TERMINAL_REDRAW_NANOS : LINE_INTERVAL_NANOS)) {
            return;
        }
        drawnStep = p.step();
        if (!terminal && p.disks().isEmpty() && p.ram() == null) {
            return;
        }
        lastDraw = now;
        if (terminal) {
            redraw(render(p));
        } else {
            line(compact(p));
        }
    }

    /** Leaves the last drawing on screen; later output starts below it. */
    synchronized void finish() {
        drawnLines = 0;
    }

    static List<String> render(MigrationProgress p) {
        List<String> lines = new ArrayList<>();
        lines.add(String.format(Locale.ROOT, "%-40s %6.1f s", p.step().label(), p.elapsed().toMillis() / 1000.0));
        for (MigrationProgress.Disk d : p.disks()) {
            lines.add(String.format(Locale.ROOT, "disk %-14s %s %10s / %-10s %s", d.id(), bar(d.copied(), d.total()),
                ByteUnits.bytes(d.copied()), ByteUnits.bytes(d.total()), d.ready() ? "in sync" : "copying"));
        }
        MigrationProgress.Ram r = p.ram();
        if (r != null) {
            lines.add(String.format(Locale.ROOT, "RAM  %-14s %s %10s sent, %s left, pass %d, dirty %s/s, downtime ~%d ms, "
                    + "%.0f Mbit/s%s", r.status(), bar(r.total() - r.remaining(), r.total()), ByteUnits.bytes(r.transferred()),
                ByteUnits.bytes(r.remaining()), r.passes(), ByteUnits.bytes(r.dirtyBytesPerSecond()), r.expectedDowntimeMs(),
                r.mbps(), throttle(r)));
        }
        return lines;
    }

    static String compact(MigrationProgress p) {
        StringBuilder sb = new StringBuilder(p.step().label());
        for (MigrationProgress.Disk d : p.disks()) {
            sb.append(String.format(Locale.ROOT, "; disk %s %s/%s%s", d.id(), ByteUnits.bytes(d.copied()),
                ByteUnits.bytes(d.total()), d.ready() ? " in sync" : ""));
        }
        MigrationProgress.Ram r = p.ram();
        if (r != null) {
            sb.append(String.format(Locale.ROOT, "; RAM %s %s sent, %s left, pass %d, dirty %s/s, expected downtime %d ms%s",
                r.status(), ByteUnits.bytes(r.transferred()), ByteUnits.bytes(r.remaining()), r.passes(),
                ByteUnits.bytes(r.dirtyBytesPerSecond()), r.expectedDowntimeMs(), throttle(r)));
        }
        return sb.toString();
    }

    private static String throttle(MigrationProgress.Ram r) {
        return r.throttlePercent() > 0 ? ", throttled " + r.throttlePercent() + " %" : "";
    }

    private static String bar(long done, long total) {
        double f = total > 0 ? Math.min(1, Math.max(0, (double) done / total)) : 0;
        int full = (int) Math.round(f * BAR);
        return "[" + "#".repeat(full) + "-".repeat(BAR - full) + "] " + String.format(Locale.ROOT, "%3.0f%%", f * 100);
    }

    private void redraw(List<String> lines) {
        StringBuilder sb = new StringBuilder();
        if (drawnLines > 0) {
            sb.append("\033[").append(drawnLines).append('F'); // cursor up to the first line drawn
        }
        for (String l : lines) {
            sb.append("\033[2K").append(l).append('\n');
        }
        for (int i = lines.size(); i < drawnLines; i++) {
            sb.append("\033[2K\n");
        }
        drawnLines = Math.max(drawnLines, lines.size());
        out.print(sb);
        out.flush();
    }

    private void line(String text) {
        out.println(LocalTime.now().format(TIME) + " " + text);
        out.flush();
    }
}
