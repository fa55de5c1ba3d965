package io.migtunnel.cli;

import static io.migtunnel.cli.CliProcesses.awaitLine;
import static io.migtunnel.cli.CliProcesses.freePort;
import static io.migtunnel.cli.CliProcesses.launch;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real processes: a destination routing {@code libvirt} says at startup who gets its libvirtd; a
 * source given {@code --socket-mode 0660 --socket-mode libvirt=0600} creates its libvirt socket
 * owner-only and the other one 0660.
 */
@Timeout(120)
class LibvirtSocketsCliTest {
    @TempDir
    Path dir;

    @Test
    void theLibvirtSocketKeepsItsOwnModeAndTheDestinationNamesWhoControlsLibvirtd() throws Exception {
        int port = freePort();
        Path dlog = dir.resolve("dest.log");
        Path slog = dir.resolve("src.log");
        Path libvirt = dir.resolve("libvirt.sock");
        Path nbd = dir.resolve("nbd.sock");
        Process dest = launch(dlog, "destination", "--listen", "127.0.0.1:" + port,
            "--route", "libvirt=" + dir.resolve("libvirt-sock"), "--route", "nbd=" + dir.resolve("nbd-target.sock"));
        Process src = null;
        try {
            awaitLine(dlog, "ready", dest);
            assertThat(Files.readString(dlog)).contains("WARN", "route 'libvirt' to " + dir.resolve("libvirt-sock")
                + " gives anyone who can reach the tunnel's port full control of this host's libvirtd");
            src = launch(slog, "source", "--connect", "127.0.0.1:" + port, "--expose", "libvirt=" + libvirt,
                "--expose", "nbd=" + nbd, "--socket-mode", "0660", "--socket-mode", "libvirt=0600");
            awaitLine(slog, "ready", src);
            assertThat(modeOf(libvirt)).isEqualTo("rw-------");
            assertThat(modeOf(nbd)).isEqualTo("rw-rw----");
        } finally {
            if (src != null) {
                src.destroyForcibly();
            }
            dest.destroyForcibly();
        }
    }

    private static String modeOf(Path socket) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(socket, LinkOption.NOFOLLOW_LINKS));
    }
}
