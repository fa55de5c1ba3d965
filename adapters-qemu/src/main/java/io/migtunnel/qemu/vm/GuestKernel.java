package io.migtunnel.qemu.vm;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Builds the busy guest's kernel from the sources beside this class ({@code guest/}) with Debian's
 * gcc and ld, once per source hash: into {@code java.io.tmpdir/migtunnel-guest-HASH/}, built in a
 * temporary directory and renamed into place, so JVMs building at the same time never see half a kernel.
 */
final class GuestKernel {
    static final String FILE_NAME = "busy-guest.elf";
    private static final List<String> C_FILES = List.of("guest.c", "console.c", "machine.c", "disks.c");
    private static final List<String> SOURCES = List.of("guest.h", "guest.c", "console.c", "machine.c", "disks.c",
        "boot.S", "link.ld");
    private static final List<String> CFLAGS = List.of("-m32", "-ffreestanding", "-fno-pic", "-fno-stack-protector",
        "-nostdlib", "-O2", "-mgeneral-regs-only", "-fno-asynchronous-unwind-tables", "-Wall", "-c");
    private static final Duration STEP_TIMEOUT = Duration.ofSeconds(120);
    private static Path built;

    private GuestKernel() {
    }

    static synchronized Path path() throws IOException {
        if (built != null && Files.isRegularFile(built)) {
            return built;
        }
        List<byte[]> sources = new ArrayList<>();
        for (String name : SOURCES) {
            sources.add(source(name));
        }
        Path dir = Path.of(System.getProperty("java.io.tmpdir")).resolve("migtunnel-guest-" + hash(sources));
        Path kernel = dir.resolve(FILE_NAME);
        if (!Files.isRegularFile(kernel)) {
            build(sources, dir);
        }
        built = kernel;
        return kernel;
    }

    private static void build(List<byte[]> sources, Path dir) throws IOException {
        Commands.require("gcc", "gcc", "to build the busy guest's kernel");
        Commands.require("ld", "binutils", "to link the busy guest's kernel");
        Path work = Files.createTempDirectory(dir.getParent(), "migtunnel-guest-build-");
        try {
            for (int i = 0; i < SOURCES.size(); i++) {
                Files.write(work.resolve(SOURCES.get(i)), sources.get(i));
            }
            List<String> link = new ArrayList<>(List.of("ld", "-m", "elf_i386", "-T", "link.ld", "-o", FILE_NAME));
            for (String source : concat(List.of("boot.S"), C_FILES)) {
                String object = source.substring(0, source.lastIndexOf('.')) + ".o";
                compile(work, source, object);
                link.add(object);
            }
            Commands.run(work, STEP_TIMEOUT, link);
            try {
                Files.move(work, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileSystemException e) {
                if (!Files.isRegularFile(dir.resolve(FILE_NAME))) { // else another JVM built it first
                    throw new IOException("could not move the busy guest's kernel into " + dir + ": " + e, e);
                }
            }
        } finally {
            Commands.deleteTree(work);
        }
    }

    private static void compile(Path work, String source, String object) throws IOException {
        List<String> command = new ArrayList<>(List.of("gcc"));
        command.addAll(CFLAGS);
        command.addAll(List.of(source, "-o", object));
        Commands.run(work, STEP_TIMEOUT, command);
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    private static byte[] source(String name) throws IOException {
        try (InputStream in = GuestKernel.class.getResourceAsStream("guest/" + name)) {
            if (in == null) {
                throw new IOException("the busy guest's source guest/" + name + " is missing from the class path");
            }
            return in.readAllBytes();
        }
    }

    /** The sources and the build commands, so a change to either builds a new kernel. */
    private static String hash(List<byte[]> sources) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(String.join(" ", CFLAGS).getBytes(StandardCharsets.UTF_8));
            for (int i = 0; i < sources.size(); i++) {
                md.update(SOURCES.get(i).getBytes(StandardCharsets.UTF_8));
                md.update(sources.get(i));
            }
            return HexFormat.of().formatHex(md.digest()).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e); // every Java platform has SHA-256
        }
    }
}
