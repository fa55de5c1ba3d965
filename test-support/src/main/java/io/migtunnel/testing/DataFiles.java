package io.migtunnel.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Files for tests that copy data through real programs: incompressible random content from a seed,
 * and sparse raw disk images. qcow2 images are {@code io.migtunnel.qemu.vm.DiskImages}' job.
 */
public final class DataFiles {
    /** One mebibyte. */
    public static final long MiB = 1L << 20;

    private DataFiles() {
    }

    /** Writes {@code size} pseudo-random bytes drawn from {@code seed} (the same seed, the same bytes). */
    public static Path randomFile(Path file, long size, long seed) throws IOException {
        SplittableRandom random = new SplittableRandom(seed);
        byte[] chunk = new byte[(int) MiB];
        try (OutputStream out = Files.newOutputStream(file)) {
            for (long left = size; left > 0; left -= chunk.length) {
                random.nextBytes(chunk);
                out.write(chunk, 0, (int) Math.min(left, chunk.length));
            }
        }
        return file;
    }

    /** A raw disk image of {@code size} zero bytes, sparse (what {@code qemu-img create -f raw} makes). */
    public static Path emptyRaw(Path file, long size) throws IOException {
        try (RandomAccessFile raw = new RandomAccessFile(file.toFile(), "rw")) {
            raw.setLength(size);
        }
        return file;
    }
}
