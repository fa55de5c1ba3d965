package io.migtunnel.transport.it;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;

/** Random data files and qcow2/raw disk images for the real-QEMU tests, plus content comparison. */
final class Images {

    static final long MiB = 1024L * 1024;
    private static final Duration QEMU_IMG_TIMEOUT = Duration.ofSeconds(60);

    private Images() {}

    /**
     * Writes {@code size} bytes of pseudo-random (incompressible, non-zero) data. The first
     * {@code zeroPrefix} bytes are zeros, e.g. so firmware never finds a boot signature on a disk.
     */
    static Path randomFile(Path file, long size, long seed, int zeroPrefix) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        ByteBuffer buf = ByteBuffer.allocate((int) MiB).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            long written = 0;
            while (written < size) {
                buf.clear();
                while (buf.remaining() >= Long.BYTES) {
                    buf.putLong(rnd.nextLong());
                }
                buf.flip();
                buf.limit((int) Math.min(buf.limit(), size - written));
                if (written < zeroPrefix) {
                    for (int i = 0; i < Math.min(buf.limit(), zeroPrefix - written); i++) {
                        buf.put(i, (byte) 0);
                    }
                }
                while (buf.hasRemaining()) {
                    written += ch.write(buf);
                }
            }
        }
        return file;
    }

    /** A qcow2 image filled with random data (first 4 KiB zero, so SeaBIOS never boots it). */
    static Path randomQcow2(Path file, long size, long seed) throws Exception {
        Path raw = file.resolveSibling(file.getFileName() + ".raw");
        randomFile(raw, size, seed, 4096);
        Cmd.check(QEMU_IMG_TIMEOUT, "qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw.toString(), file.toString());
        Files.delete(raw);
        return file;
    }

    static Path emptyQcow2(Path file, long size) throws Exception {
        Cmd.check(QEMU_IMG_TIMEOUT, "qemu-img", "create", "-q", "-f", "qcow2", file.toString(), Long.toString(size));
        return file;
    }

    static Path emptyRaw(Path file, long size) throws Exception {
        Cmd.check(QEMU_IMG_TIMEOUT, "qemu-img", "create", "-q", "-f", "raw", file.toString(), Long.toString(size));
        return file;
    }

    /**
     * Whether two qcow2 images have identical guest-visible content ({@code qemu-img compare}).
     * Not strict mode ({@code -s}): that also compares allocation status, which legitimately differs
     * (e.g. zeros the mirror wrote vs. a never-written cluster). Fails on a qemu-img error (exit > 1).
     */
    static boolean qcow2Identical(Path a, Path b) throws Exception {
        return compare(a, b).exitCode() == 0;
    }

    static void assertQcow2Identical(Path a, Path b) throws Exception {
        Cmd.Result r = compare(a, b);
        if (r.exitCode() != 0) {
            throw new AssertionError("Images differ: " + a + " vs " + b + "\n" + r.describe());
        }
    }

    private static Cmd.Result compare(Path a, Path b) throws Exception {
        Cmd.Result r = Cmd.run(QEMU_IMG_TIMEOUT, List.of("qemu-img", "compare",
                "-f", "qcow2", "-F", "qcow2", a.toString(), b.toString()));
        if (r.exitCode() > 1) {
            throw new AssertionError("qemu-img compare error: " + r.describe());
        }
        return r;
    }

    static String sha256(Path file) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        byte[] buf = new byte[(int) MiB];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
