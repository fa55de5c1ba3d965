package io.migtunnel.testing;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RealProgramsTest {
    @Test
    void missingProgramsAreNamedWithTheirDebianPackagesOnce() {
        assertThat(RealPrograms.missing(program -> program.equals("socat"),
            "qemu-system-x86_64", "qemu-img", "qemu-nbd", "nbdcopy", "socat"))
            .isEqualTo("this test needs qemu-system-x86_64, qemu-img, qemu-nbd, nbdcopy, not found on PATH: install "
                + "qemu-system-x86 qemu-utils libnbd-bin (bin/test installs them as root), or skip these tests with "
                + "-Dmigtunnel.skipQemu=true");
    }

    @Test
    void nothingIsMissingWhenEveryProgramIsThere() {
        assertThat(RealPrograms.missing(program -> true, "qemu-img", "socat")).isEmpty();
    }

    @Test
    void theRealPathIsSearched() {
        assertThat(RealPrograms.missing(ExternalProcesses::onPath, "sh")).isEmpty();
        assertThat(RealPrograms.missing(ExternalProcesses::onPath, "no-such-program-9f3")).contains("no-such-program-9f3");
    }
}
