package io.migtunnel.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Tells whether a socket is in LISTEN state by reading /proc/net, without connecting to it
 * (a probe connection would be forwarded by a relay and could, e.g., start a bogus incoming
 * migration on QEMU).
 */
public final class ListeningSockets {

    /** __SO_ACCEPTCON in /proc/net/unix "Flags". */
    private static final long SO_ACCEPTCON = 0x10000;
    /** TCP_LISTEN in /proc/net/tcp "st". */
    private static final String TCP_LISTEN = "0A";

    private ListeningSockets() {}

    /**
     * Whether a UNIX socket bound to {@code socket} is listening. A migtunnel source binds its
     * exposed sockets at {@code .NAME-XXXXXX} beside the path and renames them into place, and
     * /proc/net/unix keeps the bound name: so a listening socket of that name counts too, when the
     * path exists as a socket file.
     */
    public static boolean unix(Path socket) throws IOException {
        Path absolute = socket.toAbsolutePath();
        String wanted = absolute.toString();
        String renamedFrom = absolute.resolveSibling("." + absolute.getFileName() + "-").toString();
        boolean fileIsThere = Files.exists(absolute, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        List<String> lines = Files.readAllLines(Path.of("/proc/net/unix"));
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.trim().split("\\s+");
            // Num RefCount Protocol Flags Type St Inode [Path]
            if (f.length >= 8 && (Long.parseLong(f[3], 16) & SO_ACCEPTCON) != 0
                && (f[7].equals(wanted) || fileIsThere && f[7].startsWith(renamedFrom))) {
                return true;
            }
        }
        return false;
    }

    /** Whether a TCP socket on {@code port} (any address, IPv4 or IPv6) is listening. */
    public static boolean tcp(int port) throws IOException {
        String portHex = String.format(Locale.ROOT, ":%04X", port);
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            Path p = Path.of(table);
            if (!Files.exists(p)) {
                continue;
            }
            List<String> lines = Files.readAllLines(p);
            for (String line : lines.subList(1, lines.size())) {
                String[] f = line.trim().split("\\s+");
                // sl local_address rem_address st ...
                if (f.length > 3 && f[1].endsWith(portHex) && f[3].equals(TCP_LISTEN)) {
                    return true;
                }
            }
        }
        return false;
    }
}
