package io.migtunnel.transport.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/** Checks, protects and cleans up the UNIX socket files migtunnel creates. */
public final class SocketFiles {
    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;
    private static final int S_ISVTX = 01000;
    private static final int S_IWOTH = 0002;

    private SocketFiles() {
    }

    /**
     * Makes {@code path} free for a new listening socket: checks that the parent is a directory
     * that is not world-writable without the sticky bit (where anyone could swap the socket),
     * removes a stale socket file and refuses to replace anything else.
     */
    public static void prepareForBind(Path path) throws IOException {
        Path parent = path.toAbsolutePath().getParent();
        if (parent == null || !Files.exists(parent)) {
            throw new IOException("directory for socket " + path + " does not exist");
        }
        if (!Files.isDirectory(parent)) {
            throw new IOException("directory for socket " + path + ": " + parent + " is not a directory");
        }
        int dirMode = mode(parent, true);
        if ((dirMode & S_IWOTH) != 0 && (dirMode & S_ISVTX) == 0) {
            throw new IOException("refusing to create socket " + path + ": directory " + parent
                + " is world-writable without the sticky bit");
        }
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!isSocket(path)) {
            throw new IOException(path + " exists and is not a socket; refusing to replace it");
        }
        Files.delete(path);
    }

    /** The longest path a UNIX socket can be bound at (sun_path holds 108 bytes with the NUL). */
    static final int MAX_SOCKET_PATH = 107;

    /**
     * A fresh name beside {@code path} to bind a socket at before it is renamed to {@code path}:
     * in the same directory (a rename does not cross file systems), {@code .NAME-XXXXXX}, which
     * is what {@code ss -xl} and /proc/net/unix show for the socket afterwards (they keep the
     * name it was bound at); a shorter {@code .mt-XXXXXX} when that would be too long.
     */
    public static Path temporaryName(Path path) {
        String random = String.format("%06x", java.util.concurrent.ThreadLocalRandom.current().nextInt(1 << 24));
        Path named = path.resolveSibling("." + path.getFileName() + "-" + random);
        return named.toAbsolutePath().toString().length() <= MAX_SOCKET_PATH ? named
            : path.resolveSibling(".mt-" + random);
    }

    /** Sets the mode of a socket just bound and, when {@code group} is not null, its group. */
    public static void protect(Path path, Set<PosixFilePermission> mode, String group) throws IOException {
        Files.setPosixFilePermissions(path, mode);
        if (group != null) {
            GroupPrincipal principal;
            try {
                principal = path.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByGroupName(group);
            } catch (IOException e) {
                throw new IOException("unknown group '" + group + "' for socket " + path + ": " + e.getMessage(), e);
            }
            Files.setAttribute(path, "posix:group", principal, LinkOption.NOFOLLOW_LINKS);
        }
    }

    /** Parses an octal mode such as {@code 0600} or {@code 660}; only permission bits (no setuid, sticky). */
    public static Set<PosixFilePermission> parseMode(String octal) {
        int bits;
        try {
            bits = Integer.parseInt(octal, 8);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("socket mode '" + octal + "' is not an octal number such as 0600");
        }
        if (bits < 0 || bits > 0777) {
            throw new IllegalArgumentException("socket mode '" + octal + "' is outside 0000..0777");
        }
        StringBuilder rwx = new StringBuilder();
        for (int shift = 6; shift >= 0; shift -= 3) {
            int t = (bits >> shift) & 7;
            rwx.append((t & 4) != 0 ? 'r' : '-').append((t & 2) != 0 ? 'w' : '-').append((t & 1) != 0 ? 'x' : '-');
        }
        return PosixFilePermissions.fromString(rwx.toString());
    }

    /** {@code mode} as four octal digits, such as {@code 0660}. */
    public static String octal(Set<PosixFilePermission> mode) {
        int bits = 0;
        for (PosixFilePermission p : mode) {
            bits |= 0400 >> p.ordinal();
        }
        return String.format("%04o", bits);
    }

    /** Whether {@code path} is a UNIX socket file. */
    public static boolean isSocket(Path path) throws IOException {
        return (mode(path, false) & S_IFMT) == S_IFSOCK;
    }

    private static int mode(Path path, boolean follow) throws IOException {
        Object mode = follow ? Files.getAttribute(path, "unix:mode")
            : Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        return mode instanceof Integer m ? m : 0;
    }

    /** Removes a socket file this process created; ignores one that is already gone. */
    public static void remove(Path path) {
        try {
            if (Files.exists(path, LinkOption.NOFOLLOW_LINKS) && isSocket(path)) {
                Files.delete(path);
            }
        } catch (IOException ignored) {
            // best effort at shutdown
        }
    }
}
