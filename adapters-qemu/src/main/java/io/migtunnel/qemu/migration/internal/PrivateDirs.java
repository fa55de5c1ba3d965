package io.migtunnel.qemu.migration.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Private (0700) temporary directories for the sockets of one migration. */
final class PrivateDirs {
    private PrivateDirs() {
    }

    /** Creates one; {@link Files#createTempDirectory} makes it owner-only on POSIX systems. */
    static Path create(String prefix) throws IOException {
        return Files.createTempDirectory(prefix);
    }

    /** Deletes {@code dir} and what is in it, if it exists; best effort. */
    static void delete(Path dir) {
        if (dir == null) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort: a socket QEMU still holds open is removed with it
                }
            });
        } catch (IOException ignored) {
            // already gone
        }
    }
}
