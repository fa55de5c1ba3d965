package io.migtunnel.transport;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Which stream names and route targets are taken for libvirt's RPC. */
class LibvirtSocketsTest {
    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource({"libvirt, true", "libvirt-hostb, true", "libvirt/b, true", "control, false", "nbd/libvirt, false",
        "migration, false"})
    void streamNames(String name, boolean libvirt) {
        assertThat(LibvirtSockets.isLibvirtName(name)).isEqualTo(libvirt);
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource({"/run/libvirt/libvirt-sock, true", "/run/libvirt/libvirt-sock-ro, true",
        "/run/libvirt/libvirt-admin-sock, true", "/srv/b/libvirt.sock, true", "/run/libvirt/virtqemud-sock, true",
        "/run/libvirt/virtproxyd-admin-sock, true", "/run/libvirt/virtqemud-sock-ro, true",
        "/run/qemu/mig.sock, false", "/run/libvirt/qemu/vm1-fs0-fs.sock, false", "/, false"})
    void routeTargets(String target, boolean libvirt) {
        assertThat(LibvirtSockets.isLibvirtSocket(Path.of(target))).isEqualTo(libvirt);
    }
}
