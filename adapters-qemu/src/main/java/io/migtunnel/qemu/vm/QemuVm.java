package io.migtunnel.qemu.vm;

import io.migtunnel.qemu.qmp.QmpClient;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import reactor.core.publisher.Mono;

/**
 * A throwaway {@code qemu-system-x86_64}: q35 with TCG, no guest OS, one CPU, qcow2 virtio-blk
 * disks attached with {@code -blockdev} (the disk id is the node name), optional random data in
 * guest RAM, a QMP socket for others and one for itself, optionally {@code -incoming defer}.
 */
public final class QemuVm implements AutoCloseable {
    private static final Duration START = Duration.ofSeconds(30);

    private final String name;
    private final Process process;
    private final Path qmpSocket;
    private final Path log;
    private final Path dir;
    private final QmpClient qmp;

    private QemuVm(String name, Process process, Path qmpSocket, Path log, QmpClient qmp) {
        this.dir = qmpSocket.getParent();
        this.name = name;
        this.process = process;
        this.qmpSocket = qmpSocket;
        this.log = log;
        this.qmp = qmp;
    }

    /** A VM called {@code name} whose QMP socket and log go to {@code dir}. */
    public static Builder builder(String name, Path dir) {
        return new Builder(name, dir);
    }

    public String name() {
        return name;
    }

    /** The QMP socket ({@code dir/NAME.qmp}). */
    public Path qmpSocket() {
        return qmpSocket;
    }

    /**
     * A QMP connection of this object's own, on a second monitor socket: QEMU serves one client per
     * QMP socket, and {@link #qmpSocket()} is left for migtunnel.
     */
    public QmpClient qmp() {
        return qmp;
    }

    /** {@code query-status}: running, paused, inmigrate, postmigrate... */
    public String status() {
        return qmp.queryStatus().block(Duration.ofSeconds(10));
    }

    public long pid() {
        return process.pid();
    }

    /** What QEMU wrote to stderr and stdout, for diagnostics. */
    public String log() {
        try {
            return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    /** The SHA-256 of {@code size} bytes of guest RAM at {@code address} ({@code pmemsave} into this VM's directory). */
    public String ramSha256(long address, long size) throws IOException {
        Path out = dir.resolve(name + "-ram-" + System.nanoTime() + ".bin");
        try {
            qmp.execute("pmemsave", Map.of("val", address, "size", size, "filename", out.toString()))
                .block(Duration.ofSeconds(60));
            return DiskImages.sha256(out);
        } finally {
            Files.deleteIfExists(out);
        }
    }

    /** Kills QEMU at once (SIGKILL) and waits for it to be gone. */
    public void kill() {
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Asks QEMU to quit, so its images are flushed and closed, and waits; kills it if that fails.
     * Returns whether QEMU had ended by itself (or already had), false when it had to be killed.
     */
    public boolean quit() {
        if (!process.isAlive()) {
            return true;
        }
        // A QEMU that does not answer within 10 s is killed below, never left running.
        qmp.execute("quit").timeout(Duration.ofSeconds(10)).onErrorResume(e -> Mono.empty()).block();
        try {
            if (process.waitFor(20, TimeUnit.SECONDS)) {
                return true;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        kill();
        return false;
    }

    @Override
    public void close() {
        quit();
        qmp.close().timeout(Duration.ofSeconds(5)).onErrorResume(e -> Mono.empty()).block();
    }

    /** Configures and starts a {@link QemuVm}. */
    public static final class Builder {
        private final String name;
        private final Path dir;
        private final Map<String, Path> disks = new LinkedHashMap<>();
        private int memoryMiB = 128;
        private Path ramBlob;
        private long ramBlobAddress;
        private boolean incoming;
        private boolean stopped;

        private Builder(String name, Path dir) {
            this.name = name;
            this.dir = dir;
        }

        /** A virtio-blk disk backed by {@code qcow2}, with node name (and disk id) {@code id}. */
        public Builder disk(String id, Path qcow2) {
            disks.put(id, qcow2);
            return this;
        }

        public Builder memoryMiB(int mib) {
            this.memoryMiB = mib;
            return this;
        }

        /** Loads {@code blob} into guest RAM at {@code address} ({@code -device loader}). */
        public Builder ramBlob(Path blob, long address) {
            this.ramBlob = blob;
            this.ramBlobAddress = address;
            return this;
        }

        /** Waits for an incoming migration ({@code -incoming defer}). */
        public Builder incomingDefer() {
            this.incoming = true;
            return this;
        }

        /** Starts with the CPUs stopped ({@code -S}). */
        public Builder stopped() {
            this.stopped = true;
            return this;
        }

        /** Starts QEMU and connects to its QMP socket. */
        public QemuVm start() throws IOException {
            Files.createDirectories(dir);
            Path qmpSocket = dir.resolve(name + ".qmp");
            Path log = dir.resolve(name + ".log");
            Path ownSocket = dir.resolve(name + ".own.qmp");
            List<String> cmd = new ArrayList<>(List.of("qemu-system-x86_64", "-name", name,
                "-machine", "q35,accel=tcg", "-nodefaults", "-display", "none", "-smp", "1",
                "-m", Integer.toString(memoryMiB), "-qmp", "unix:" + qmpSocket + ",server=on,wait=off",
                "-qmp", "unix:" + ownSocket + ",server=on,wait=off"));
            disks.forEach((id, image) -> {
                cmd.addAll(List.of("-blockdev", "driver=file,node-name=" + id + "-file,filename=" + image));
                cmd.addAll(List.of("-blockdev", "driver=qcow2,node-name=" + id + ",file=" + id + "-file"));
                cmd.addAll(List.of("-device", "virtio-blk-pci,drive=" + id + ",id=vblk-" + id));
            });
            if (ramBlob != null) {
                cmd.addAll(List.of("-device", "loader,file=" + ramBlob + ",addr=0x" + Long.toHexString(ramBlobAddress)));
            }
            if (incoming) {
                cmd.addAll(List.of("-incoming", "defer"));
            }
            if (stopped) {
                cmd.add("-S");
            }
            Process p = new ProcessBuilder(cmd)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
            try {
                QmpClient qmp = QmpClient.connect(ownSocket, START).block(START.plusSeconds(5));
                return new QemuVm(name, p, qmpSocket, log, qmp);
            } catch (RuntimeException e) {
                p.destroyForcibly();
                String out = Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
                throw new IOException("QEMU '" + name + "' did not start: " + e.getMessage()
                    + (out.isBlank() ? "" : "\n" + out.trim()), e);
            }
        }
    }
}
