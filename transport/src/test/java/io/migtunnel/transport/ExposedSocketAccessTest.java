package io.migtunnel.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.migtunnel.mux.SessionConfig;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The exposed sockets' mode and group, and the directories a source refuses to bind into. */
@Timeout(60)
class ExposedSocketAccessTest {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(10);

    @TempDir
    Path dir;
    private UnixServer echo;
    private Tunnel destination;
    private final List<Tunnel> sources = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        echo = UnixServer.echo(dir.resolve("echo.sock"));
        destination = TunnelDestination.create().route("echo", echo.path()).route("libvirt", echo.path())
            .bind().block(START_TIMEOUT);
    }

    @AfterEach
    void stop() throws Exception {
        sources.forEach(Tunnel::dispose);
        destination.dispose();
        echo.close();
    }

    @Test
    void exposedSocketIsOwnerOnlyByDefault() throws Exception {
        Path socket = dir.resolve("default.sock");
        startSource(source(socket));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket, LinkOption.NOFOLLOW_LINKS)))
            .isEqualTo("rw-------");
    }

    @Test
    void modeAndGroupAreAppliedWhenAsked() throws Exception {
        Path socket = dir.resolve("shared.sock");
        String group = aGroupThisUserMayUse();
        startSource(source(socket).socketMode("0660").socketGroup(group));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket, LinkOption.NOFOLLOW_LINKS)))
            .isEqualTo("rw-rw----");
        GroupPrincipal actual = (GroupPrincipal) Files.getAttribute(socket, "posix:group", LinkOption.NOFOLLOW_LINKS);
        assertThat(actual.getName()).isEqualTo(group);
        byte[] data = "through a 0660 socket".getBytes(StandardCharsets.US_ASCII);
        try (var ch = UnixClient.connect(socket)) {
            UnixClient.writeAll(ch, data);
            ch.shutdownOutput();
            assertThat(UnixClient.readToEnd(ch)).isEqualTo(data);
        }
    }

    @Test
    void worldWritableDirectoryWithoutStickyBitIsRefused() throws Exception {
        Path open = Files.createDirectory(dir.resolve("open"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertThatThrownBy(() -> source(open.resolve("x.sock")).start().block(START_TIMEOUT))
            .hasMessageContaining(open.toString())
            .hasMessageContaining("world-writable without the sticky bit");
        assertThat(Files.exists(open.resolve("x.sock"), LinkOption.NOFOLLOW_LINKS)).isFalse();
        startSource(source(dir.resolve("fine.sock"))); // the destination still serves
    }

    @Test
    void aParentThatIsNotADirectoryIsRefused() throws Exception {
        Path file = Files.writeString(dir.resolve("plain-file"), "x");
        assertThatThrownBy(() -> source(file.resolve("x.sock")).start().block(START_TIMEOUT))
            .hasMessageContaining(file.toString())
            .hasMessageContaining("is not a directory");
    }

    @Test
    void aWiderModeForAllSocketsIsRefusedForALibvirtSocket() {
        Path socket = dir.resolve("libvirt.sock");
        assertThatThrownBy(() -> source(dir.resolve("echo.sock2")).expose("libvirt", socket).socketMode("0660")
                .start().block(START_TIMEOUT))
            .isInstanceOf(LibvirtSocketModeException.class)
            .hasMessage("refusing mode 0660 for the exposed socket 'libvirt' at " + socket + ": whoever can connect "
                + "to it controls the destination's libvirtd; keep it owner-only, or give it a mode by name: "
                + "socketMode(\"libvirt\", \"0660\")");
        assertThat(Files.exists(socket, LinkOption.NOFOLLOW_LINKS)).isFalse();
        assertThat(Files.exists(dir.resolve("echo.sock2"), LinkOption.NOFOLLOW_LINKS)).isFalse();
    }

    @Test
    void aLibvirtSocketWidenedByNameGetsThatModeAndTheOthersKeepTheirs() throws Exception {
        Path libvirt = dir.resolve("libvirt.sock");
        Path other = dir.resolve("other.sock");
        startSource(source(other).expose("libvirt", libvirt).socketMode("libvirt", "0660"));
        assertThat(modeOf(libvirt)).isEqualTo("rw-rw----");
        assertThat(modeOf(other)).isEqualTo("rw-------");
        byte[] data = "virConnectOpen".getBytes(StandardCharsets.US_ASCII);
        try (var ch = UnixClient.connect(libvirt)) {
            UnixClient.writeAll(ch, data);
            ch.shutdownOutput();
            assertThat(UnixClient.readToEnd(ch)).isEqualTo(data);
        }
    }

    @Test
    void aLibvirtSocketKeptOwnerOnlyByNameAllowsAWiderModeForTheOthers() throws Exception {
        Path libvirt = dir.resolve("libvirt.sock");
        Path other = dir.resolve("other.sock");
        startSource(source(other).expose("libvirt", libvirt).socketMode("0660").socketMode("libvirt", "0600"));
        assertThat(modeOf(libvirt)).isEqualTo("rw-------");
        assertThat(modeOf(other)).isEqualTo("rw-rw----");
    }

    @Test
    void anOwnerOnlyModeForAllSocketsAppliesToALibvirtSocket() throws Exception {
        Path libvirt = dir.resolve("libvirt.sock");
        startSource(source(dir.resolve("other.sock")).expose("libvirt", libvirt).socketMode("0700"));
        assertThat(modeOf(libvirt)).isEqualTo("rwx------");
    }

    @Test
    void aModeForANameNotExposedIsRefused() {
        assertThatThrownBy(() -> source(dir.resolve("x.sock")).socketMode("libvrt", "0660").start().block(START_TIMEOUT))
            .hasMessage("a socket mode is given for 'libvrt', which is not exposed (exposed: [echo])");
    }

    @Test
    void invalidModesAreRejected() {
        assertThatThrownBy(() -> TunnelSource.create().socketMode("0999")).hasMessageContaining("0999");
        assertThatThrownBy(() -> TunnelSource.create().socketMode("4755")).hasMessageContaining("4755");
    }

    private TunnelSource source(Path socket) {
        return TunnelSource.create().config(SessionConfig.defaults())
            .connect(new InetSocketAddress("127.0.0.1", destination.address().getPort()))
            .expose("echo", socket);
    }

    private static String modeOf(Path socket) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(socket, LinkOption.NOFOLLOW_LINKS));
    }

    private void startSource(TunnelSource source) {
        sources.add(source.start().block(START_TIMEOUT));
    }

    /** A supplementary group if this user has one; as root "daemon" when it exists; else the primary group. */
    private String aGroupThisUserMayUse() throws Exception {
        List<String> groups = Arrays.asList(run("id", "-Gn").trim().split("\\s+"));
        if (groups.size() > 1) {
            return groups.get(1);
        }
        if (run("id", "-u").trim().equals("0")) {
            try {
                return dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByGroupName("daemon").getName();
            } catch (IOException e) {
                // no such group here
            }
        }
        return groups.get(0);
    }

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
}
