package io.migtunnel.qemu.vm;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/** qcow2 images through {@code qemu-img}: empty, filled with random data, compared. */
public final class DiskImages {
    private static final long MIB = 1 << 20;
    private static final long TIMEOUT_SECONDS = 120;

    private DiskImages() {
    }

    /** An empty qcow2 image of {@code size} bytes. */
    public static Path emptyQcow2(Path file, long size) throws IOException {
        run("qemu-img", "create", "-q", "-f", "qcow2", file.toString(), Long.toString(size));
        return file;
    }

    /** A qcow2 image of {@code size} bytes of pseudo-random data; the first 4 KiB are zero so firmware never boots it. */
    public static Path randomQcow2(Path file, long size, long seed) throws IOException {
        Path raw = file.resolveSibling(file.getFileName() + ".raw");
        randomFile(raw, size, seed);
        try {
            run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw.toString(), file.toString());
        } finally {
            Files.deleteIfExists(raw);
        }
        return file;
    }

    /** {@code size} bytes of pseudo-random data from {@code seed}, the first 4 KiB zero. */
    public static Path randomFile(Path file, long size, long seed) throws IOException {
        SplittableRandom random = new SplittableRandom(seed);
        ByteBuffer buf = ByteBuffer.allocate((int) MIB).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
            StandardOpenOption.TRUNCATE_EXISTING)) {
            long written = 0;
            while (written < size) {
                buf.clear();
                while (buf.remaining() >= Long.BYTES) {
                    buf.putLong(written == 0 && buf.position() < 4096 ? 0 : random.nextLong());
                }
                buf.flip();
                buf.limit((int) Math.min(buf.limit(), size - written));
                while (buf.hasRemaining()) {
                    written += ch.write(buf);
                }
            }
        }
        return file;
    }

    /** The SHA-256 of {@code file}'s bytes, in hex. */
    public static String sha256(Path file) throws IOException {
        java.security.MessageDigest md;
        try {
            md = java.security.MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e); // every Java platform has SHA-256
        }
        try (var in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return java.util.HexFormat.of().formatHex(md.digest());
    }

    /**
     * Whether two images have the same guest-visible content ({@code qemu-img compare}, not strict:
     * allocation may differ). Throws when qemu-img itself fails.
     */
    public static boolean identical(Path a, Path b) throws IOException {
        return compare(a, b) == 0;
    }

    private static int compare(Path a, Path b) throws IOException {
        Result r = exec("qemu-img", "compare", "-q", "-U", a.toString(), b.toString());
        if (r.code() > 1) {
            throw new IOException("qemu-img compare " + a + " " + b + " failed (" + r.code() + "): " + r.output());
        }
        return r.code();
    }

    private static void run(String... command) throws IOException {
        Result r = exec(command);
        if (r.code() != 0) {
            throw new IOException(String.join(" ", command) + " failed (" + r.code() + "): " + r.output());
        }
    }

    private record Result(int code, String output) {
    }

    private static Result exec(String... command) throws IOException {
        Process p = new ProcessBuilder(new ArrayList<>(List.of(command))).redirectErrorStream(true).start();
        try {
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + " did not finish within " + TIMEOUT_SECONDS + " s");
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8).trim());
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + command[0], e);
        }
    }
}
