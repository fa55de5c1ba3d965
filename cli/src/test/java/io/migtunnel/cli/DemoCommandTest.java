package io.migtunnel.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.testing.RealBinaries;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code migtunnel demo} as the README's first command runs it, smaller: a busy guest migrated and checked. */
@Tag("qemu")
@Timeout(180)
class DemoCommandTest {
    @TempDir
    Path dir;

    @Test
    void migratesTheBusyGuestAndProvesNothingWasLost() throws Exception {
        RealBinaries.require("qemu-system-x86_64", "qemu-img", "gcc", "ld");
        Path log = dir.resolve("demo.log");
        Process demo = CliProcesses.launch(log, "demo", "--disk-size", "32M", "--ram", "96");
        assertThat(demo.waitFor(150, TimeUnit.SECONDS)).as("the demo ends").isTrue();
        String out = Files.readString(log);
        assertThat(demo.exitValue()).as(out).isZero();
        assertThat(out).contains("migrated VM 'demo-source': destination running", "converged in",
            "verify: destination RAM: ", ", 0 errors", "verify: destination disk 0: ", "verify: destination disk 1: ",
            "demo: OK (nothing the guest wrote was lost)");
        assertThat(out).containsPattern("on the destination [1-9][0-9]* pages more");
    }
}
