package io.migtunnel.qemu.vm;

import io.migtunnel.qemu.qmp.QmpClient;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.IntStream;
import reactor.core.publisher.Mono;

/**
 * A throwaway {@code qemu-system-x86_64}: q35 with TCG, no guest OS, one CPU, qcow2 virtio-blk
 * disks attached with {@code -blockdev} (the disk id is the node name), optional random data in
 * guest RAM, a QMP socket for others and one for itself, optionally {@code -incoming defer}.
 * With {@link Builder#busyGuest}, a pc machine with IDE disks running the {@link BusyGuest} instead.
 */
public final class QemuVm implements AutoCloseable {
    private static final Duration START = Duration.ofSeconds(30);
    private static final int SERIAL_HEAD = 16 * 1024;
    private static final int SERIAL_TAIL = 48 * 1024;
    private static final long POLL_MILLIS = 20;

    private final String name;
    private final Process process;
    private final Path qmpSocket;
    private final Path log;
    private final Path dir;
    private final QmpClient qmp;
    private final BusyGuest busyGuest;
    private final Path serial;

    private QemuVm(String name, Process process, Path qmpSocket, Path log, QmpClient qmp, BusyGuest busyGuest,
                   Path serial) {
        this.dir = qmpSocket.getParent();
        this.name = name;
        this.process = process;
        this.qmpSocket = qmpSocket;
        this.log = log;
        this.qmp = qmp;
        this.busyGuest = busyGuest;
        this.serial = serial;
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

    /** Writes {@code size} bytes of guest RAM at {@code address} to {@code file} ({@code pmemsave}; running or stopped). */
    public void saveRam(long address, long size, Path file) throws IOException {
        try {
            qmp.execute("pmemsave", Map.of("val", address, "size", size, "filename", file.toAbsolutePath().toString()))
                .block(Duration.ofSeconds(60));
        } catch (RuntimeException e) {
            throw new IOException("pmemsave of 0x" + Long.toHexString(address) + "+0x" + Long.toHexString(size)
                + " from '" + name + "' failed: " + e.getMessage(), e);
        }
    }

    /** The busy guest this VM runs, if it was built with {@link Builder#busyGuest}. */
    public Optional<BusyGuest> busyGuest() {
        return Optional.ofNullable(busyGuest);
    }

    /** Where the guest's serial port (COM1) goes: {@code dir/NAME.serial} (busy guest only). */
    public Path serialFile() {
        requireBusyGuest();
        return serial;
    }

    /**
     * What the guest has printed on its serial port so far; when that is long, its first 16 KiB
     * and last 48 KiB.
     */
    public String serialLog() {
        requireBusyGuest();
        try (FileChannel ch = FileChannel.open(serial, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size <= SERIAL_HEAD + SERIAL_TAIL) {
                return text(ch, 0, (int) size);
            }
            return text(ch, 0, SERIAL_HEAD) + "\n[... " + (size - SERIAL_HEAD - SERIAL_TAIL) + " bytes ...]\n"
                + text(ch, size - SERIAL_TAIL, SERIAL_TAIL);
        } catch (NoSuchFileException e) {
            return "";
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    private static String text(FileChannel ch, long at, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        while (b.hasRemaining() && ch.read(b, at + b.position()) > 0) {
            // until the length asked for, or the end of what QEMU has written
        }
        return new String(b.array(), 0, b.position(), StandardCharsets.ISO_8859_1);
    }

    /** The busy guest's status block, read now ({@code pmemsave}); throws if the guest has not written it yet. */
    public GuestStatus guestStatus() throws IOException {
        byte[] block = statusBlock();
        if (!GuestStatus.present(block)) {
            throw new IOException("the busy guest of '" + name + "' has not written its status block yet"
                + " (state " + status() + ")");
        }
        return GuestStatus.parse(block);
    }

    /**
     * Polls the guest's status until {@code condition} holds and returns that status; throws when
     * {@code timeout} passes or the guest halts (a bad parameter, a CPU exception), with its serial log.
     */
    public GuestStatus awaitGuest(String what, Duration timeout, Predicate<GuestStatus> condition) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        GuestStatus last = null;
        while (true) {
            byte[] block = statusBlock();
            if (GuestStatus.present(block)) {
                if (GuestStatus.state(block) == GuestStatus.HALTED) {
                    throw new IOException("the busy guest of '" + name + "' halted while awaiting " + what + ":\n"
                        + serialLog());
                }
                last = GuestStatus.parse(block);
                if (condition.test(last)) {
                    return last;
                }
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IOException("timed out after " + timeout + " awaiting " + what + " of '" + name
                    + "'; last status " + last + "; serial:\n" + serialLog());
            }
            if (!process.isAlive()) {
                throw new IOException("QEMU '" + name + "' ended while awaiting " + what + ":\n" + log());
            }
            pause();
        }
    }

    /** Waits until the guest has started sweep {@code sweep} (or a later one). */
    public GuestStatus awaitSweep(long sweep, Duration timeout) throws IOException {
        return awaitGuest("sweep " + sweep, timeout, s -> s.sweep() >= sweep);
    }

    /**
     * Waits until the guest has dirtied pages and completed a write to every disk (when it writes
     * disks) since this call began: proof that it runs.
     */
    public GuestStatus awaitGuestProgress(Duration timeout) throws IOException {
        requireBusyGuest();
        GuestStatus start = awaitGuest("the end of the initial fill", timeout, s -> s.sweep() >= 1);
        boolean writes = busyGuest.diskWritesPerSecond() > 0;
        return awaitGuest("progress past " + start, timeout, s -> s.pagesDirtied() > start.pagesDirtied()
            && (!writes || IntStream.range(0, start.lastWrites().size()).allMatch(d -> s.lastWrite(d) > start.lastWrite(d))));
    }

    private byte[] statusBlock() throws IOException {
        requireBusyGuest();
        Path out = dir.resolve(name + "-status-" + System.nanoTime() + ".bin");
        try {
            saveRam(GuestStatus.ADDRESS, GuestStatus.SIZE, out);
            return Files.readAllBytes(out);
        } finally {
            Files.deleteIfExists(out);
        }
    }

    private void requireBusyGuest() {
        if (busyGuest == null) {
            throw new IllegalStateException("VM '" + name + "' does not run the busy guest (Builder.busyGuest)");
        }
    }

    private static void pause() throws IOException {
        try {
            Thread.sleep(POLL_MILLIS); // the polling interval of awaitGuest
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while awaiting the busy guest");
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
        private BusyGuest busyGuest;
        private final List<String> extraArguments = new ArrayList<>();

        private Builder(String name, Path dir) {
            this.name = name;
            this.dir = dir;
        }

        /**
         * A virtio-blk disk backed by {@code qcow2}, with node name (and disk id) {@code id}; with
         * {@link #busyGuest}, an IDE disk in the next slot (ide.0 unit 0, ide.0 unit 1, ide.1 unit 0,
         * ide.1 unit 1), which is the guest's disk index.
         */
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

        /**
         * Runs {@code guest} ({@link BusyGuest#kernel()}): a pc machine (i440fx) with IDE disks, the
         * kernel and its command line ({@code -kernel}, {@code -append}), COM1 into
         * {@code dir/NAME.serial}, {@code -no-reboot}. Give the same guest to the {@link #incomingDefer()}
         * destination of a migration, so its machine and devices match the source's.
         */
        public Builder busyGuest(BusyGuest guest) {
            this.busyGuest = java.util.Objects.requireNonNull(guest, "guest");
            return this;
        }

        /** More QEMU arguments, last on the command line (for tests of this package: {@code -gdb}...). */
        Builder extraArguments(String... arguments) {
            extraArguments.addAll(List.of(arguments));
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
            Path serial = dir.resolve(name + ".serial");
            Path kernel = busyGuest == null ? null : checkBusyGuest();
            List<String> cmd = new ArrayList<>(List.of("qemu-system-x86_64", "-name", name,
                "-machine", (busyGuest == null ? "q35" : "pc") + ",accel=tcg", "-nodefaults", "-display", "none",
                "-smp", "1", "-m", Integer.toString(memoryMiB), "-qmp", "unix:" + qmpSocket + ",server=on,wait=off",
                "-qmp", "unix:" + ownSocket + ",server=on,wait=off"));
            int slot = 0;
            for (Map.Entry<String, Path> disk : disks.entrySet()) {
                String id = disk.getKey();
                cmd.addAll(List.of("-blockdev", "driver=file,node-name=" + id + "-file,filename=" + disk.getValue()));
                cmd.addAll(List.of("-blockdev", "driver=qcow2,node-name=" + id + ",file=" + id + "-file"));
                cmd.addAll(List.of("-device", busyGuest == null ? "virtio-blk-pci,drive=" + id + ",id=vblk-" + id
                    : "ide-hd,drive=" + id + ",bus=ide." + slot / 2 + ",unit=" + slot % 2 + ",id=ide-" + id));
                slot++;
            }
            if (busyGuest != null) {
                cmd.addAll(List.of("-kernel", kernel.toString(), "-append", busyGuest.commandLine(),
                    "-serial", "file:" + serial, "-no-reboot"));
            }
            if (ramBlob != null) {
                cmd.addAll(List.of("-device", "loader,file=" + ramBlob + ",addr=0x" + Long.toHexString(ramBlobAddress)));
            }
            if (incoming) {
                cmd.addAll(List.of("-incoming", "defer"));
            }
            if (stopped) {
                cmd.add("-S");
            }
            cmd.addAll(extraArguments);
            Process p = new ProcessBuilder(cmd)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
            try {
                QmpClient qmp = QmpClient.connect(ownSocket, START).block(START.plusSeconds(5));
                return new QemuVm(name, p, qmpSocket, log, qmp, busyGuest, busyGuest == null ? null : serial);
            } catch (RuntimeException e) {
                p.destroyForcibly();
                String out = Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
                throw new IOException("QEMU '" + name + "' did not start: " + e.getMessage()
                    + (out.isBlank() ? "" : "\n" + out.trim()), e);
            }
        }

        /** The kernel, after checking that the range fits in RAM and the region on every disk. */
        private Path checkBusyGuest() throws IOException {
            if (disks.size() > BusyGuest.MAX_DISKS) {
                throw new IllegalStateException("the busy guest's pc machine has " + BusyGuest.MAX_DISKS
                    + " IDE slots, not " + disks.size() + " disks");
            }
            if (busyGuest.ramEnd() > (long) memoryMiB << 20) {
                throw new IllegalStateException(String.format("the busy guest's range 0x%x..0x%x ends beyond the VM's %d MiB",
                    busyGuest.ramStart(), busyGuest.ramEnd(), memoryMiB));
            }
            if (ramBlob != null && ramBlobAddress < busyGuest.ramEnd()
                && ramBlobAddress + Files.size(ramBlob) > BusyGuest.KERNEL_ADDRESS) {
                throw new IllegalStateException("ramBlob at 0x" + Long.toHexString(ramBlobAddress)
                    + " overlaps the busy guest's kernel, status block or range (up to 0x"
                    + Long.toHexString(busyGuest.ramEnd()) + ")");
            }
            for (Map.Entry<String, Path> disk : disks.entrySet()) {
                long size = qcow2Size(disk.getValue());
                if (size >= 0 && size < busyGuest.minimumDiskBytes()) {
                    throw new IllegalStateException("disk " + disk.getKey() + " has " + size + " bytes, fewer than the"
                        + " busy guest's region needs (" + busyGuest.minimumDiskBytes() + ")");
                }
            }
            return BusyGuest.kernel();
        }

        /** The virtual size in a qcow2 header (big-endian, at byte 24), -1 when {@code image} is no qcow2. */
        private static long qcow2Size(Path image) throws IOException {
            byte[] header;
            try (InputStream in = Files.newInputStream(image)) {
                header = in.readNBytes(32);
            }
            ByteBuffer b = ByteBuffer.wrap(header).order(ByteOrder.BIG_ENDIAN);
            boolean qcow2 = header.length == 32 && Arrays.equals(Arrays.copyOf(header, 4), new byte[] {'Q', 'F', 'I', (byte) 0xFB});
            return qcow2 ? b.getLong(24) : -1;
        }
    }
}
