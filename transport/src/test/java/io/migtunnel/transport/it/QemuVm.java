package io.migtunnel.transport.it;

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

/**
 * One {@code qemu-system-x86_64} (q35, TCG, no guest OS) with qcow2 virtio-blk disks, optional
 * random data loaded into guest RAM, a QMP socket and optionally {@code -incoming defer}.
 */
@SuppressWarnings("try") // close() may throw InterruptedException: it waits for processes
final class QemuVm implements AutoCloseable {

    private static final Duration START_TIMEOUT = Duration.ofSeconds(20);
    private static final Duration QUIT_TIMEOUT = Duration.ofSeconds(20);

    static final class Builder {
        private final String name;
        private final Path workDir;
        private final Map<String, Path> disks = new LinkedHashMap<>();
        private int memoryMiB = 256;
        private Path ramBlob;
        private long ramBlobAddr = 0x1000000L;
        private boolean incomingDefer;

        private Builder(String name, Path workDir) {
            this.name = name;
            this.workDir = workDir;
        }

        /** A virtio-blk disk whose qcow2 {@code -blockdev} has node name {@code nodeName}. */
        Builder disk(String nodeName, Path qcow2) {
            disks.put(nodeName, qcow2);
            return this;
        }

        Builder memoryMiB(int mib) {
            this.memoryMiB = mib;
            return this;
        }

        /** Loads {@code blob} into guest RAM at {@code addr} with {@code -device loader}. */
        Builder ramBlob(Path blob, long addr) {
            this.ramBlob = blob;
            this.ramBlobAddr = addr;
            return this;
        }

        Builder incomingDefer() {
            this.incomingDefer = true;
            return this;
        }

        QemuVm start() throws Exception {
            Files.createDirectories(workDir);
            Path qmpSocket = workDir.resolve(name + ".qmp");
            List<String> cmd = new ArrayList<>(List.of(
                    "qemu-system-x86_64", "-name", name,
                    "-machine", "q35,accel=tcg", "-nodefaults", "-display", "none", "-smp", "1",
                    "-m", Integer.toString(memoryMiB),
                    "-qmp", "unix:" + qmpSocket + ",server=on,wait=off"));
            for (Map.Entry<String, Path> d : disks.entrySet()) {
                String node = d.getKey();
                cmd.add("-blockdev");
                cmd.add("driver=file,node-name=" + node + "-file,filename=" + d.getValue());
                cmd.add("-blockdev");
                cmd.add("driver=qcow2,node-name=" + node + ",file=" + node + "-file");
                cmd.add("-device");
                cmd.add("virtio-blk-pci,drive=" + node + ",id=vblk-" + node);
            }
            if (ramBlob != null) {
                cmd.add("-device");
                cmd.add("loader,file=" + ramBlob + ",addr=0x" + Long.toHexString(ramBlobAddr));
            }
            if (incomingDefer) {
                cmd.add("-incoming");
                cmd.add("defer");
            }
            Path stderr = workDir.resolve(name + ".stderr");
            Process p = new ProcessBuilder(cmd)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectOutput(workDir.resolve(name + ".stdout").toFile())
                    .redirectError(stderr.toFile())
                    .start();
            QemuVm vm = new QemuVm(name, cmd, p, stderr);
            try {
                vm.qmp = Qmp.connect(name, qmpSocket, START_TIMEOUT, p::isAlive);
            } catch (Throwable t) {
                vm.kill();
                throw new AssertionError("QEMU " + name + " did not start\n" + vm.diagnostics(), t);
            }
            return vm;
        }
    }

    private final String name;
    private final List<String> command;
    private final Process process;
    private final Path stderr;
    private Qmp qmp;

    private QemuVm(String name, List<String> command, Process process, Path stderr) {
        this.name = name;
        this.command = command;
        this.process = process;
        this.stderr = stderr;
    }

    static Builder builder(String name, Path workDir) {
        return new Builder(name, workDir);
    }

    Qmp qmp() {
        return qmp;
    }

    String name() {
        return name;
    }

    /** {@code query-status}'s {@code status}, e.g. running, paused, inmigrate, postmigrate. */
    String status() throws Exception {
        return qmp.execute("query-status").path("status").asText();
    }

    boolean stderrContains(String text) {
        try {
            return Files.exists(stderr) && Files.readString(stderr, StandardCharsets.UTF_8).contains(text);
        } catch (IOException e) {
            return false;
        }
    }

    /** Command line, exit state and stderr, for failure messages. */
    String diagnostics() {
        String err;
        try {
            err = Files.exists(stderr) ? Cmd.tail(Files.readString(stderr, StandardCharsets.UTF_8)) : "";
        } catch (IOException e) {
            err = "(unreadable: " + e + ")";
        }
        return "=== QEMU " + name + (process.isAlive() ? " (running)" : " (exited " + process.exitValue() + ")")
                + " ===\n" + String.join(" ", command) + "\n--- stderr ---\n" + err + "\n";
    }

    /** Asks QEMU to quit (flushing images) and waits for it to exit; kills it if that fails. */
    void shutdown() throws Exception {
        if (!process.isAlive()) {
            return;
        }
        try {
            qmp.execute("quit", Map.of(), Duration.ofSeconds(5));
        } catch (Exception | AssertionError ignored) {
            // the connection may drop before the reply arrives; the exit below is what counts
        }
        if (!process.waitFor(QUIT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
            kill();
            throw new AssertionError("QEMU " + name + " did not quit within " + QUIT_TIMEOUT + "\n" + diagnostics());
        }
    }

    private void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws Exception {
        try {
            if (process.isAlive()) {
                kill();
            }
        } finally {
            if (qmp != null) {
                qmp.close();
            }
        }
    }
}
