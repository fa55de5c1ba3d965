package io.migtunnel.cli;

import io.migtunnel.qemu.migration.IncomingMigrations;
import io.migtunnel.qemu.migration.MigrationObserver;
import io.migtunnel.qemu.migration.MigrationOptions;
import io.migtunnel.qemu.migration.QmpLocator;
import io.migtunnel.qemu.migration.SourceMigration;
import io.migtunnel.qemu.vm.DiskImages;
import io.migtunnel.qemu.vm.QemuVm;
import io.migtunnel.transport.Tunnel;
import io.migtunnel.transport.TunnelDestination;
import io.migtunnel.transport.TunnelSource;
import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code migtunnel demo}: a complete live migration of a throwaway VM with two random disks, on
 * this machine, through a real tunnel; by default the VM runs the project's busy guest, which
 * dirties RAM and writes both disks all along, and the demo proves on the destination that
 * nothing it wrote was lost ({@code --idle}: random data in RAM, no guest, copies compared).
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Migrate a throwaway QEMU VM with two random disks, running a small guest that dirties its RAM and "
        + "writes both disks all the while, to a second QEMU on this machine through migtunnel; show the progress, "
        + "prove on the destination that the guest runs on and lost nothing, print the summary.")
final class DemoCommand implements Callable<Integer> {
    static final int EXIT_MISSING_TOOLS = 3;
    private static final long BLOB_ADDRESS = 0x1000000L;

    @Option(names = "--disk-size", paramLabel = "BYTES", converter = ByteUnits.class,
        description = "Size of each of the two disks (default: 256M).")
    long diskSize = 256L << 20;

    @Option(names = "--ram", paramLabel = "MIB", description = "Guest RAM in MiB (default: ${DEFAULT-VALUE}).")
    int ramMiB = 256;

    @Option(names = "--multifd", paramLabel = "N", description = "Migrate RAM over N channels.")
    int multifd;

    @Option(names = "--postcopy", description = "Switch to postcopy once RAM migration runs.")
    boolean postcopy;

    @Option(names = "--idle", description = "No guest: random data in RAM and disks that do not change; check the "
        + "copies are identical (the demo before the busy guest).")
    boolean idle;

    @Option(names = "--dirty-rate", paramLabel = "KIB_PER_S", description = "How fast the guest dirties its 64 MiB of "
        + "RAM, KiB/s; 0 = as fast as it can (default: ${DEFAULT-VALUE}).")
    long dirtyRate = 16384;

    @Option(names = "--disk-writes", paramLabel = "N", description = "Sector writes per second to each disk "
        + "(default: ${DEFAULT-VALUE}).")
    int diskWrites = 100;

    @Option(names = "--keep", description = "Keep the work directory (images, QEMU logs) instead of deleting it.")
    boolean keep;

    @Override
    public Integer call() throws Exception {
        List<String> missing = new ArrayList<>();
        List<String[]> tools = new ArrayList<>(List.of(new String[] {"qemu-system-x86_64", "qemu-system-x86"},
            new String[] {"qemu-img", "qemu-utils"}));
        if (!idle) { // the busy guest's kernel is built here
            tools.add(new String[] {"gcc", "gcc"});
            tools.add(new String[] {"ld", "binutils"});
        }
        for (String[] tool : tools) {
            if (!onPath(tool[0]) && !missing.contains(tool[1])) {
                missing.add(tool[1]);
            }
        }
        if (!missing.isEmpty()) {
            System.err.println("migtunnel demo needs QEMU" + (idle ? "" : ", and gcc and ld to build its guest")
                + ": install them with: sudo apt-get install -y " + String.join(" ", missing));
            return EXIT_MISSING_TOOLS;
        }
        if (ramMiB < 64) {
            System.err.println("migtunnel: --ram must be at least 64 (MiB)");
            return Main.EXIT_USAGE;
        }
        Path dir = Files.createTempDirectory("migtunnel-demo-");
        try {
            return demo(dir);
        } finally {
            if (keep) {
                System.out.println("work directory kept: " + dir);
            } else {
                deleteTree(dir);
            }
        }
    }

    private int demo(Path dir) throws Exception {
        return idle ? idleDemo(dir) : new BusyDemo(dir, diskSize, ramMiB, dirtyRate, diskWrites,
            MigrationOptions.defaults().withMultifd(multifd).withPostcopy(postcopy)).run();
    }

    private int idleDemo(Path dir) throws Exception {
        long blobSize = Math.min(64L << 20, (ramMiB - 32L) << 20);
        System.out.println("demo: creating two " + ByteUnits.bytes(diskSize) + " disks of random data and "
            + ByteUnits.bytes(blobSize) + " of random guest RAM in " + dir);
        Map<String, Path[]> disks = new LinkedHashMap<>();
        for (int i = 0; i < 2; i++) {
            String id = "disk" + i;
            disks.put(id, new Path[] {
                DiskImages.randomQcow2(dir.resolve("source-" + id + ".qcow2"), diskSize, System.nanoTime() + i),
                DiskImages.emptyQcow2(dir.resolve("destination-" + id + ".qcow2"), diskSize)});
        }
        Path blob = DiskImages.randomFile(dir.resolve("ram.bin"), blobSize, System.nanoTime());
        QemuVm.Builder src = QemuVm.builder("demo-source", dir).memoryMiB(ramMiB).ramBlob(blob, BLOB_ADDRESS);
        QemuVm.Builder dst = QemuVm.builder("demo-destination", dir).memoryMiB(ramMiB).incomingDefer();
        disks.forEach((id, images) -> {
            src.disk(id, images[0]);
            dst.disk(id, images[1]);
        });
        try (QemuVm source = src.start(); QemuVm destination = dst.start()) {
            System.out.println("demo: source QEMU pid " + source.pid() + " running, destination QEMU pid "
                + destination.pid() + " waiting (-incoming defer)");
            int code = migrate(source, destination, MigrationOptions.defaults().withMultifd(multifd).withPostcopy(postcopy));
            if (code != 0) {
                return code;
            }
            return verify(source, destination, disks, blob, blobSize);
        }
    }

    /** Migrates {@code source} into {@code destination} through a tunnel on loopback, showing progress; the exit code. */
    static int migrate(QemuVm source, QemuVm destination, MigrationOptions options) {
        Tunnel tunnel = TunnelDestination.create()
            .handle(IncomingMigrations.CONTROL_STREAM, new IncomingMigrations(QmpLocator.single(destination.qmpSocket())))
            .bind().block(Duration.ofSeconds(10));
        try {
            System.out.println("demo: destination tunnel listening on " + tunnel.address() + "; migrating...");
            SourceMigration migration = SourceMigration.create(source.qmpSocket(),
                    TunnelSource.create().connect(new InetSocketAddress("127.0.0.1", tunnel.address().getPort())))
                .options(options);
            return MigrationRunner.run(migration, MigrationObserver.NONE, System.out, System.err);
        } finally {
            tunnel.dispose();
        }
    }

    private static int verify(QemuVm source, QemuVm destination, Map<String, Path[]> disks, Path blob,
                              long blobSize) throws Exception {
        String expected = DiskImages.sha256(blob);
        String arrived = destination.ramSha256(BLOB_ADDRESS, blobSize);
        String status = destination.status();
        destination.quit();
        source.quit();
        boolean ok = expected.equals(arrived) && status.equals("running");
        System.out.println("verify: destination VM " + status + "; guest RAM " + (expected.equals(arrived)
            ? "identical" : "DIFFERS") + " (" + ByteUnits.bytes(blobSize) + ", sha256 " + expected.substring(0, 16) + "…)");
        for (Map.Entry<String, Path[]> d : disks.entrySet()) {
            boolean same = DiskImages.identical(d.getValue()[0], d.getValue()[1]);
            ok &= same;
            System.out.println("verify: disk " + d.getKey() + " " + (same ? "identical" : "DIFFERS")
                + " (qemu-img compare)");
        }
        System.out.println(ok ? "demo: OK" : "demo: FAILED");
        return ok ? 0 : 1;
    }

    private static boolean onPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String d : path.split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(d, program))) {
                return true;
            }
        }
        return false;
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var files = Files.walk(dir)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
