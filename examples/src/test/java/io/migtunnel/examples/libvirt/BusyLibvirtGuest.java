package io.migtunnel.examples.libvirt;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.qemu.vm.BusyGuest;
import io.migtunnel.qemu.vm.DiskImages;
import io.migtunnel.qemu.vm.GuestCheck;
import io.migtunnel.qemu.vm.GuestStatus;
import io.migtunnel.testing.Await;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.stream.IntStream;

/**
 * The project's busy guest ({@link BusyGuest}) as a libvirt domain: machine {@code pc}, the
 * multiboot kernel booted directly, two IDE qcow2 disks of random data, COM1 to a file on the
 * host it runs on. It dirties 16 MiB of RAM at {@link #DIRTY_KIB_PER_SECOND} (each page stamped
 * with its sweep) and writes {@link #WRITES_PER_SECOND} stamped sectors a second to each disk:
 * a rate precopy converges at even at the 20 MiB/s the abort test caps the migration to.
 *
 * <p>{@link #assertIntact} proves the guest runs on that host (its status block and its serial
 * port there advance), then pauses it, checks its RAM with {@link GuestCheck} and resumes it;
 * {@link #stopAndAssertDisks} pauses it, stops QEMU and checks every disk with {@link GuestCheck}.
 */
final class BusyLibvirtGuest implements Guest {
    static final String NAME = "mt-busy";
    private static final long MIB = 1 << 20;
    private static final long DISK_SIZE = 64 * MIB;
    private static final long DIRTY_KIB_PER_SECOND = 8192;
    private static final int WRITES_PER_SECOND = 20;
    private static final String IMAGES = "/var/lib/libvirt/images/";
    private static final String SERIAL = "/var/log/libvirt/qemu/" + NAME + ".serial";
    private static final Duration PROGRESS = Duration.ofSeconds(30);

    private final Path dir;
    private final BusyGuest busy;
    private final Map<String, Path> initial = new LinkedHashMap<>();
    private GuestStatus lastSeen;
    private int dumps;

    private BusyLibvirtGuest(Path dir) throws Exception {
        this.dir = Files.createDirectories(dir);
        busy = BusyGuest.defaults().withRam(BusyGuest.MIN_RAM_START, 16 * MIB).withDirtyRate(DIRTY_KIB_PER_SECOND)
            .withDiskWrites(WRITES_PER_SECOND);
        DomainXml domain = DomainXml.named(NAME).memoryMiB(128).machine("pc")
            .kernel(BusyGuest.kernel().toString(), busy.commandLine()).serialFile(SERIAL);
        String[] targets = {"hda", "hdb"};
        for (int i = 0; i < targets.length; i++) {
            String path = IMAGES + NAME + "-" + i + ".qcow2";
            domain.disk(path, targets[i], "ide");
            initial.put(path, DiskImages.randomQcow2(dir.resolve("disk" + i + ".qcow2"), DISK_SIZE, 1400 + i));
        }
        Files.writeString(dir.resolve(NAME + ".xml"), domain.render());
    }

    /** Builds the kernel (gcc, ld) and makes the disk images in {@code dir}. */
    static BusyLibvirtGuest create(Path dir) throws Exception {
        return new BusyLibvirtGuest(dir);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return NAME + ": the busy guest, 128 MiB RAM of which 16 MiB dirtied at " + DIRTY_KIB_PER_SECOND / 1024
            + " MiB/s, two 64 MiB IDE disks written " + WRITES_PER_SECOND + " sectors/s each, TCG";
    }

    @Override
    public List<String> diskPaths() {
        return List.copyOf(initial.keySet());
    }

    @Override
    public long diskSize(String path) {
        return DISK_SIZE;
    }

    @Override
    public void startOn(LibvirtHost host) throws Exception {
        for (Map.Entry<String, Path> disk : initial.entrySet()) {
            Files.copy(disk.getValue(), host.path(disk.getKey()), StandardCopyOption.REPLACE_EXISTING);
        }
        // the XML file and the kernel are outside the overlays: every host sees them at the same path
        host.virshOk("define", dir.resolve(NAME + ".xml").toAbsolutePath().toString());
        host.virshOk("start", NAME);
        lastSeen = null;
        awaitProgress(host, "its first sweep and a write to every disk",
            s -> s.sweep() >= 2 && s.lastWrites().size() == initial.size() && s.lastWrites().stream().allMatch(w -> w > 0));
    }

    @Override
    public void prepareIncoming(LibvirtHost host) throws Exception {
        for (String path : initial.keySet()) {
            DiskImages.emptyQcow2(host.path(path), DISK_SIZE);
        }
    }

    @Override
    public void assertIntact(LibvirtHost host) throws Exception {
        GuestStatus now = status(host);
        if (lastSeen != null) {
            assertThat(now.pagesDirtied()).as("pages dirtied on %s: on from %s, where it was last seen", host, lastSeen)
                .isGreaterThanOrEqualTo(lastSeen.pagesDirtied());
        }
        awaitProgress(host, "progress past " + now, s -> s.pagesDirtied() > now.pagesDirtied()
            && IntStream.range(0, initial.size()).allMatch(d -> s.lastWrite(d) > now.lastWrite(d)));
        Await.until("a serial progress line on " + host + " past sweep " + now.sweep() + " page " + now.position(),
            PROGRESS, () -> SerialProgress.last(Files.readString(host.path(SERIAL))),
            p -> p != null && p.isPast(now.sweep(), now.position()));
        String serial = Files.readString(host.path(SERIAL));
        assertThat(serial).as("the guest's serial port on %s", host).doesNotContain("ERROR").doesNotContain("halted");

        host.virshOk("suspend", NAME);
        try {
            GuestStatus paused = status(host);
            String out = IMAGES + NAME + "-ram-" + (++dumps) + ".bin";
            monitor(host, "pmemsave", busy.ramStart(), busy.ramBytes(), out);
            try {
                GuestCheck.Report ram = GuestCheck.ramDump(host.path(out), paused, busy);
                assertThat(ram.ok()).as("the guest's RAM on %s: %s", host, ram).isTrue();
                System.out.println("busy guest on " + host + ": " + ram.summary() + ", writes " + paused.lastWrites()
                    + "; serial: " + SerialProgress.last(serial));
            } finally {
                Files.deleteIfExists(host.path(out));
            }
            lastSeen = paused;
        } finally {
            host.virshOk("resume", NAME);
        }
    }

    @Override
    public void stopAndAssertDisks(LibvirtHost host) throws Exception {
        host.virshOk("suspend", NAME);
        GuestStatus last = status(host);
        host.virshOk("destroy", "--graceful", NAME); // SIGTERM: QEMU flushes and closes its images
        int i = 0;
        for (Map.Entry<String, Path> disk : initial.entrySet()) {
            GuestCheck.Report report = GuestCheck.disk(host.path(disk.getKey()), disk.getValue(), i, busy, last.lastWrite(i));
            assertThat(report.ok()).as("%s on %s: %s", disk.getKey(), host, report).isTrue();
            System.out.println("busy guest on " + host + ": " + report.summary());
            i++;
        }
    }

    /** The guest's status block on {@code host}, read now (running or paused). */
    private GuestStatus status(LibvirtHost host) throws Exception {
        String out = IMAGES + NAME + "-status.bin";
        monitor(host, "pmemsave", GuestStatus.ADDRESS, GuestStatus.SIZE, out);
        try {
            return GuestStatus.parse(Files.readAllBytes(host.path(out)));
        } finally {
            Files.deleteIfExists(host.path(out));
        }
    }

    private void awaitProgress(LibvirtHost host, String what, Predicate<GuestStatus> done)
        throws Exception {
        GuestStatus reached = Await.until(what + " of the busy guest on " + host, PROGRESS, () -> {
            try {
                return status(host);
            } catch (IllegalArgumentException notYetWritten) {
                return null;
            }
        }, s -> s != null && (s.errors() > 0 || done.test(s)));
        assertThat(reached.errors()).as("errors the guest found itself on %s (first bad page %#x); serial:\n%s", host,
            reached.firstBadPage(), Files.readString(host.path(SERIAL))).isZero();
    }

    private static void monitor(LibvirtHost host, String command, long address, long size, String file)
        throws Exception {
        host.virshOk("qemu-monitor-command", NAME, "{\"execute\":\"" + command + "\",\"arguments\":{\"val\":" + address
            + ",\"size\":" + size + ",\"filename\":\"" + file + "\"}}");
    }
}
