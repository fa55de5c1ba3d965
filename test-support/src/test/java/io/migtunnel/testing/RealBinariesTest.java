package io.migtunnel.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RealBinariesTest {

    @Test
    void namesTheMissingProgramsAndTheirDebianPackagesOnce() {
        Set<String> installed = Set.of("qemu-system-x86_64", "openssl");
        String message = RealBinaries.missing(List.of("qemu-system-x86_64", "qemu-img", "qemu-nbd", "nbdcopy",
            "socat"), installed::contains);
        assertThat(message)
            .startsWith("not on the PATH: qemu-img, qemu-nbd, nbdcopy, socat (Debian packages: qemu-utils libnbd-bin socat)")
            .contains("sudo apt-get install -y qemu-utils libnbd-bin socat", "bin/test", "-Dmigtunnel.skipQemu=true");
    }

    @Test
    void nothingMissingIsNoMessage() {
        assertThat(RealBinaries.missing(List.of("socat"), program -> true)).isNull();
    }

    @Test
    void everyProgramTheTestsRunHasAPackage() {
        assertThat(RealBinaries.PACKAGES.values()).containsExactlyInAnyOrder("qemu-system-x86", "qemu-utils",
            "qemu-utils", "qemu-utils", "iproute2", "libnbd-bin", "socat", "openssl", "systemd", "gcc", "binutils",
            "libvirt-daemon", "libvirt-clients", "util-linux", "util-linux");
    }

    @Test
    void aProgramNotOnThePathFailsTheTest() {
        assertThatThrownBy(() -> RealBinaries.check("no-such-program-migtunnel"))
            .isInstanceOf(AssertionError.class)
            .hasMessageStartingWith("not on the PATH: no-such-program-migtunnel");
    }

    @Test
    void aProgramOnThePathPasses() {
        assertThat(RealBinaries.onPath("sh")).isTrue();
        RealBinaries.check("sh");
    }
}
