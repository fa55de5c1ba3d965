package io.migtunnel.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** What a destination says about a route to libvirtd, by how the tunnel authenticates its sources. */
class LibvirtRouteNoticeTest {
    private static final Path LIBVIRTD = Path.of("/run/libvirt/libvirt-sock");

    @Test
    void plaintextGivesLibvirtdToAnyoneWhoReachesThePort() {
        assertThat(LibvirtRouteNotice.of("libvirt", LIBVIRTD, false, Set.of())).isEqualTo("route 'libvirt' to "
            + "/run/libvirt/libvirt-sock gives anyone who can reach the tunnel's port full control of this host's "
            + "libvirtd: the tunnel is plaintext");
    }

    @Test
    void mutualTlsGivesItToEverySourceOfTheCaUnlessNarrowed() {
        assertThat(LibvirtRouteNotice.of("libvirt", LIBVIRTD, true, Set.of())).isEqualTo("route 'libvirt' to "
            + "/run/libvirt/libvirt-sock gives every source with a certificate from the tunnel's CA full control of "
            + "this host's libvirtd; --tls-allow-subject narrows it to named sources");
        assertThat(LibvirtRouteNotice.of("libvirt", LIBVIRTD, true, Set.of("CN=src-a"))).isEqualTo("route 'libvirt' "
            + "to /run/libvirt/libvirt-sock gives the sources [CN=src-a] (--tls-allow-subject) full control of this "
            + "host's libvirtd");
    }

    @Test
    void aLibvirtTargetUnderAnotherNameOrALibvirtNameCountsOtherRoutesDoNot() {
        assertThat(LibvirtRouteNotice.of("rpc", Path.of("/run/libvirt/virtqemud-sock"), true, Set.of())).isNotNull();
        assertThat(LibvirtRouteNotice.of("libvirt", Path.of("/srv/b/rpc.sock"), true, Set.of())).isNotNull();
        assertThat(LibvirtRouteNotice.of("migration", Path.of("/run/mt/mig.sock"), false, Set.of())).isNull();
    }
}
