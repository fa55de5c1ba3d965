package io.migtunnel.transport.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;
import org.slf4j.Logger;
import reactor.netty.DisposableServer;

/**
 * A socket file a source created and listens on, remembered by its device and inode: so that the
 * source removes only its own file, never one another process put at the same path since (an
 * incoming QEMU binding the same path replaces it), and notices when that happens.
 */
final class ExposedSocket {
    private final String name;
    private final Path path;
    private final DisposableServer server;
    /** Device and inode of the file bound ({@link BasicFileAttributes#fileKey()}). */
    private final Object fileKey;
    private boolean replacementReported;

    private ExposedSocket(String name, Path path, DisposableServer server, Object fileKey) {
        this.name = name;
        this.path = path;
        this.server = server;
        this.fileKey = fileKey;
    }

    /** Remembers the file just bound at {@code path} by {@code server}. */
    static ExposedSocket bound(String name, Path path, DisposableServer server) throws IOException {
        return new ExposedSocket(name, path, server, fileKey(path));
    }

    /** The device and inode of the file at {@code path}, or null when there is none. */
    private static Object fileKey(Path path) throws IOException {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return null;
        }
        return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
    }

    Path path() {
        return path;
    }

    /** Whether the file at the path is still the socket this source bound. */
    boolean isOurs() {
        try {
            return fileKey != null && Objects.equals(fileKey(path), fileKey);
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Logs, once, when the file at the path is no longer ours: connections to the path then reach
     * whoever replaced it, not the tunnel. The source does not re-create it: that would take the
     * path from its new owner (often an incoming QEMU), which is worse than a forwarder that says
     * it lost its socket.
     */
    void reportIfReplaced(Logger log) {
        if (!replacementReported && !isOurs()) {
            replacementReported = true;
            log.error("exposed socket '{}' at {} was {}: connections to it no longer reach the tunnel; migtunnel "
                + "does not re-create it. Use separate socket paths for outgoing and incoming migrations", name, path,
                Files.exists(path, LinkOption.NOFOLLOW_LINKS) ? "replaced by another file" : "removed");
        }
    }

    /** Stops listening and removes the socket file, if it is still ours; a replaced one is left alone. */
    void close(Logger log) {
        server.dispose();
        if (isOurs()) {
            SocketFiles.remove(path);
        } else if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            log.warn("not removing {}: it is no longer the socket this process created (another process replaced it)",
                path);
        }
    }
}
