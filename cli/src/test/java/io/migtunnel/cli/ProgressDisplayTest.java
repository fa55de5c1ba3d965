package io.migtunnel.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.qemu.migration.MigrationProgress;
import io.migtunnel.qemu.migration.MigrationStep;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Bars on a terminal, redrawn in place; timestamped lines otherwise. */
class ProgressDisplayTest {
    private static final MigrationProgress HALF = new MigrationProgress(MigrationStep.MIRROR, Duration.ofMillis(1500),
        List.of(new MigrationProgress.Disk("disk0", 512L << 20, 1L << 30, false),
            new MigrationProgress.Disk("disk1", 1L << 30, 1L << 30, true)),
        new MigrationProgress.Ram("active", 100L << 20, 300L << 20, 400L << 20, 8L << 20, 120, 900.0, 3, 0));

    @Test
    void aTerminalGetsOneBarPerDiskAndOneForRam() {
        List<String> lines = ProgressDisplay.render(HALF);
        assertThat(lines).hasSize(4);
        assertThat(lines.get(0)).startsWith("mirror the disks").contains("1.5 s");
        assertThat(lines.get(1)).contains("disk disk0", "[" + "#".repeat(15) + "-".repeat(15) + "]  50%", "512.0 MiB", "copying");
        assertThat(lines.get(2)).contains("disk disk1", "100%", "in sync");
        assertThat(lines.get(3)).contains("RAM", "active", " 25%", "100.0 MiB sent", "300.0 MiB left", "dirty 8.0 MiB/s",
            "downtime ~120 ms");
    }

    @Test
    void redrawsMoveTheCursorBackUpInsteadOfScrolling() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ProgressDisplay d = new ProgressDisplay(new PrintStream(bytes, true, StandardCharsets.UTF_8), true);
        d.onProgress(HALF);
        String first = bytes.toString(StandardCharsets.UTF_8);
        assertThat(first).doesNotContain("\033[4F").contains("\033[2K");
        d.finish();
        assertThat(first.lines()).hasSize(4);
    }

    @Test
    void aNewStepIsDrawnAtOnceWhileRedrawsWithinAStepAreThrottled() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ProgressDisplay d = new ProgressDisplay(new PrintStream(bytes, true, StandardCharsets.UTF_8), true);
        d.onProgress(HALF);
        d.onProgress(HALF); // same step, within 200 ms: not drawn again
        int once = bytes.size();
        d.onProgress(new MigrationProgress(MigrationStep.SWITCH_OVER, Duration.ofMillis(1600), HALF.disks(), HALF.ram()));
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertThat(out.substring(0, once)).containsOnlyOnce("mirror the disks");
        assertThat(out.substring(once)).startsWith("\033[4F").contains("switch over");
    }

    @Test
    void withoutATerminalEachStepIsATimestampedLine() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ProgressDisplay d = new ProgressDisplay(new PrintStream(bytes, true, StandardCharsets.UTF_8), false);
        d.onStep(MigrationStep.SWITCH_OVER);
        d.onProgress(HALF);
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertThat(out).containsPattern("(?m)^\\d\\d:\\d\\d:\\d\\d step: switch over$");
        assertThat(out).containsPattern("(?m)^\\d\\d:\\d\\d:\\d\\d mirror the disks; disk disk0 512.0 MiB/1.0 GiB; "
            + "disk disk1 1.0 GiB/1.0 GiB in sync; RAM active");
        assertThat(out).doesNotContain("\033[");
    }
}
