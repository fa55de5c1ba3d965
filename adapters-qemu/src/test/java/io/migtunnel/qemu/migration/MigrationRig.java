package io.migtunnel.qemu.migration;

import io.migtunnel.mux.Session;
import io.migtunnel.mux.SessionConfig;
import io.migtunnel.mux.SessionListener;
import io.migtunnel.qemu.vm.BusyGuest;
import io.migtunnel.qemu.vm.DiskImages;
import io.migtunnel.qemu.vm.QemuVm;
import io.migtunnel.testing.Await;
import io.migtunnel.testing.RealBinaries;
import io.migtunnel.transport.Tunnel;
import io.migtunnel.transport.TunnelDestination;
import io.migtunnel.transport.TunnelSource;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import reactor.core.publisher.Mono;

/**
 * Two real QEMUs on this machine (a running source with random disks and a random blob in RAM, a
 * destination waiting with {@code -incoming defer}) and a destination tunnel in orchestrated mode.
 */
final class MigrationRig implements AutoCloseable {
    static final long MiB = 1 << 20;
    static final long BLOB_ADDRESS = 0x1000000L;
    static final long BLOB_SIZE = 16 * MiB;
    /** The resume grace period of both tunnel ends of a {@link #resumable} rig. */
    static final Duration RESUME_GRACE = Duration.ofSeconds(30);

    final Path dir;
    final Map<String, Path> sourceImages = new LinkedHashMap<>();
    final Map<String, Path> pristine = new LinkedHashMap<>();
    final Map<String, Path> destinationImages = new LinkedHashMap<>();
    /** Random data in the source's RAM; null with a {@link #guest}. */
    final Path blob;
    /** The busy guest both VMs run, or null (then a {@link #blob} sits in RAM). */
    final BusyGuest guest;
    /** The size of {@link #blob}: {@link #BLOB_SIZE} unless given. */
    final long blobSize;
    final QemuVm source;
    final QemuVm destination;
    /** Both tunnel ends' session config (resumption off unless {@link #resumable}). */
    final SessionConfig config;
    /** What the destination tunnel's sessions report (for every destination tunnel bound). */
    final SessionEvents destinationEvents = new SessionEvents();
    /** What the sessions of {@link #migration()}'s source tunnel report. */
    final SessionEvents sourceEvents = new SessionEvents();
    private final Function<QemuVm, QmpLocator> locator;
    /** The destination tunnel; a new one after {@link #restartDestination()}. */
    volatile Tunnel tunnel;

    /** Fails the test without QEMU, skips it with -Dmigtunnel.skipQemu=true (see {@link RealBinaries}). */
    static void assumeQemu() {
        RealBinaries.require("qemu-system-x86_64", "qemu-img");
    }

    /** Source disks {@code disk0}, {@code disk1} of {@code size}; destination disks as given (id → size). */
    MigrationRig(Path dir, long size, Map<String, Long> destinationDisks) throws Exception {
        this(dir, size, destinationDisks, vm -> QmpLocator.single(vm.qmpSocket()));
    }

    /** The destination tunnel finds QMP sockets with what {@code locator} makes of the destination VM. */
    MigrationRig(Path dir, long size, Map<String, Long> destinationDisks,
                 java.util.function.Function<QemuVm, QmpLocator> locator) throws Exception {
        this(dir, size, destinationDisks, locator, false);
    }

    /** With {@code destinationStopped}, the destination QEMU starts with {@code -S}. */
    MigrationRig(Path dir, long size, Map<String, Long> destinationDisks,
                 java.util.function.Function<QemuVm, QmpLocator> locator, boolean destinationStopped) throws Exception {
        this(dir, 2, size, destinationDisks, locator, destinationStopped, SessionConfig.defaults(), BLOB_SIZE);
    }

    /**
     * {@code count} disks of {@code size} on both sides ({@code disk0}…), and both tunnel ends keep
     * their session for {@link #RESUME_GRACE} after losing its connection, to resume it.
     */
    static MigrationRig resumable(Path dir, long size, int count) throws Exception {
        return resumable(dir, size, count, BLOB_SIZE);
    }

    /** As {@link #resumable(Path, long, int)}, with {@code blobSize} random bytes in guest RAM. */
    static MigrationRig resumable(Path dir, long size, int count, long blobSize) throws Exception {
        return new MigrationRig(dir, count, size, disksOf(count, size), vm -> QmpLocator.single(vm.qmpSocket()), false,
            SessionConfig.defaults().withResumeGrace(RESUME_GRACE), blobSize);
    }

    /**
     * Two disks of {@code size} on both sides, and the project's busy guest running on the source
     * (dirtying RAM, writing both disks) instead of a blob in RAM; the destination has the same machine.
     */
    static MigrationRig busy(Path dir, long size, BusyGuest guest) throws Exception {
        return new MigrationRig(dir, 2, size, disksOf(2, size), vm -> QmpLocator.single(vm.qmpSocket()), false,
            SessionConfig.defaults(), 0, guest);
    }

    private MigrationRig(Path dir, int sourceDisks, long size, Map<String, Long> destinationDisks,
                         Function<QemuVm, QmpLocator> locator, boolean destinationStopped, SessionConfig config,
                         long blobSize) throws Exception {
        this(dir, sourceDisks, size, destinationDisks, locator, destinationStopped, config, blobSize, null);
    }

    private MigrationRig(Path dir, int sourceDisks, long size, Map<String, Long> destinationDisks,
                         Function<QemuVm, QmpLocator> locator, boolean destinationStopped, SessionConfig config,
                         long blobSize, BusyGuest guest) throws Exception {
        this.dir = dir;
        this.blobSize = blobSize;
        this.config = config;
        this.locator = locator;
        this.guest = guest;
        QemuVm.Builder src = QemuVm.builder("src", dir).memoryMiB(128);
        for (int i = 0; i < sourceDisks; i++) {
            String id = "disk" + i;
            Path image = DiskImages.randomQcow2(dir.resolve("src-" + id + ".qcow2"), size, 0x5eed + i);
            sourceImages.put(id, image);
            pristine.put(id, Files.copy(image, dir.resolve("pristine-" + id + ".qcow2")));
            src.disk(id, image);
        }
        QemuVm.Builder dst = QemuVm.builder("dst", dir).memoryMiB(128).incomingDefer();
        if (guest != null) {
            blob = null;
            src.busyGuest(guest);
            dst.busyGuest(guest);
        } else {
            blob = DiskImages.randomFile(dir.resolve("ram.bin"), blobSize, 0xb10b);
            src.ramBlob(blob, BLOB_ADDRESS);
        }
        if (destinationStopped) {
            dst.stopped();
        }
        for (Map.Entry<String, Long> d : destinationDisks.entrySet()) {
            Path image = DiskImages.emptyQcow2(dir.resolve("dst-" + d.getKey() + ".qcow2"), d.getValue());
            destinationImages.put(d.getKey(), image);
            dst.disk(d.getKey(), image);
        }
        source = src.start();
        destination = dst.start();
        tunnel = destinationTunnel(new InetSocketAddress("127.0.0.1", 0)).bind().block(Duration.ofSeconds(10));
    }

    /** A destination tunnel in orchestrated mode for the destination VM, with a fresh {@link IncomingMigrations}. */
    private TunnelDestination destinationTunnel(InetSocketAddress listen) {
        return TunnelDestination.create().listen(listen).config(config).listener(destinationEvents)
            .handle(IncomingMigrations.CONTROL_STREAM, new IncomingMigrations(locator.apply(destination)));
    }

    /**
     * As the destination host restarting: its tunnel goes at once (connections closed without a
     * GOAWAY, sessions forgotten), and a new one, which knows no session, listens on the same port.
     */
    void restartDestination() throws Exception {
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", tunnel.address().getPort());
        Tunnel old = tunnel;
        old.dispose();
        old.onClose().onErrorResume(e -> Mono.empty()).block(Duration.ofSeconds(10));
        tunnel = Await.until("a new destination tunnel on " + address, Duration.ofSeconds(10), () -> {
            try {
                return destinationTunnel(address).bind().block(Duration.ofSeconds(5));
            } catch (RuntimeException e) {
                return null; // the port is not free yet
            }
        }, Objects::nonNull);
    }

    /** {@code count} disks of {@code size}: {@code disk0}, {@code disk1}… */
    static Map<String, Long> disksOf(int count, long size) {
        Map<String, Long> m = new LinkedHashMap<>();
        for (int i = 0; i < count; i++) {
            m.put("disk" + i, size);
        }
        return m;
    }

    static Map<String, Long> disks(long size0, long size1) {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("disk0", size0);
        m.put("disk1", size1);
        return m;
    }

    SourceMigration migration() {
        return SourceMigration.create(source.qmpSocket(),
            TunnelSource.create().config(config).listener(sourceEvents)
                .connect(new InetSocketAddress("127.0.0.1", tunnel.address().getPort())));
    }

    /** SHA-256 of {@link #blobSize} bytes of guest RAM at {@code BLOB_ADDRESS}. */
    String ramDigest(QemuVm vm) throws Exception {
        return vm.ramSha256(BLOB_ADDRESS, blobSize);
    }

    String diagnostics() {
        return "=== source ===\n" + source.log() + "\n=== destination ===\n" + destination.log();
    }

    /** Counts what a tunnel end's sessions report about their connection; thread-safe. */
    static final class SessionEvents implements SessionListener {
        private final Set<Session> ready = Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));
        private final AtomicInteger disconnects = new AtomicInteger();
        private final AtomicInteger resumes = new AtomicInteger();
        private final List<Long> retransmittedPerResume = Collections.synchronizedList(new ArrayList<>());
        private final List<String> log = Collections.synchronizedList(new ArrayList<>());
        private final List<String> opened = Collections.synchronizedList(new ArrayList<>());
        private final Map<String, java.util.concurrent.atomic.LongAdder> sent = new java.util.concurrent.ConcurrentHashMap<>();

        /** The names of the streams opened, in order. */
        List<String> openedStreams() {
            synchronized (opened) {
                return List.copyOf(opened);
            }
        }

        /** DATA bytes this side sent on streams named {@code name}. */
        long sentOn(String name) {
            java.util.concurrent.atomic.LongAdder bytes = sent.get(name);
            return bytes == null ? 0 : bytes.sum();
        }

        @Override
        public void onStreamOpened(io.migtunnel.mux.MuxStream stream) {
            opened.add(stream.name());
        }

        @Override
        public void onDataSent(io.migtunnel.mux.MuxStream stream, int bytes) {
            sent.computeIfAbsent(stream.name(), n -> new java.util.concurrent.atomic.LongAdder()).add(bytes);
        }

        /** The sessions whose handshake completed (a resumed one counts once). */
        Set<Session> readySessions() {
            synchronized (ready) {
                return Set.copyOf(ready);
            }
        }

        int disconnects() {
            return disconnects.get();
        }

        int resumes() {
            return resumes.get();
        }

        /** DATA bytes sent again after resume {@code n} (from 1). */
        long retransmittedAt(int n) {
            return retransmittedPerResume.get(n - 1);
        }

        /** Every event, in order, for messages. */
        List<String> log() {
            synchronized (log) {
                return List.copyOf(log);
            }
        }

        @Override
        public void onReady(Session session) {
            ready.add(session);
            log.add("ready " + System.identityHashCode(session));
        }

        @Override
        public void onDisconnected(Session session, String why) {
            disconnects.incrementAndGet();
            log.add("disconnected " + System.identityHashCode(session) + ": " + why);
        }

        @Override
        public void onResumed(Session session, Duration outage, long retransmittedBytes) {
            retransmittedPerResume.add(retransmittedBytes);
            resumes.incrementAndGet();
            log.add("resumed " + System.identityHashCode(session) + " after " + outage.toMillis() + " ms, "
                + retransmittedBytes + " bytes again");
        }

        @Override
        public void onResumeRefused(String reason) {
            log.add("resume refused: " + reason);
        }

        @Override
        public void onClosed(Session session, Throwable cause) {
            log.add("closed " + System.identityHashCode(session) + (cause == null ? "" : ": " + cause.getMessage()));
        }
    }

    @Override
    public void close() {
        // Each in its own finally: a QEMU that does not answer quit must not leave the other running.
        try {
            tunnel.dispose();
        } finally {
            try {
                source.close();
            } finally {
                destination.close();
            }
        }
    }

    /** The source runs with no block job or NBD node of ours, and, once it quit, its disks are as before. */
    void assertSourceUntouched() throws Exception {
        org.assertj.core.api.Assertions.assertThat(source.status()).isEqualTo("running");
        org.assertj.core.api.Assertions.assertThat(source.qmp().queryBlockJobs().block(Duration.ofSeconds(5))).isEmpty();
        org.assertj.core.api.Assertions.assertThat(nodeNames(source.qmp().execute("query-named-block-nodes")
            .block(Duration.ofSeconds(5)))).noneMatch(n -> n.startsWith("migtunnel-"));
        source.quit();
        for (String id : sourceImages.keySet()) {
            org.assertj.core.api.Assertions.assertThat(DiskImages.identical(sourceImages.get(id), pristine.get(id)))
                .as("source disk %s unchanged", id).isTrue();
        }
    }

    /** The node names in a {@code query-named-block-nodes} answer. */
    static List<String> nodeNames(com.fasterxml.jackson.databind.JsonNode nodes) {
        List<String> names = new ArrayList<>();
        nodes.forEach(n -> names.add(n.path("node-name").asText()));
        return names;
    }
}
