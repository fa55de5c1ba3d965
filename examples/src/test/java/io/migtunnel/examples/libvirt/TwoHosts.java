package io.migtunnel.examples.libvirt;

import io.migtunnel.testing.RealBinaries;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The libvirt suite's two hosts, set up once per test class as a cluster of two is deployed
 * (README "A cluster"): host-a and host-b ({@link LibvirtHost}) joined by a veth pair
 * ({@link HostLink}), each with its certificate ({@link HostCertificates}) and, in
 * {@code /etc/hosts}, both names at their link addresses; a {@link Tunnel} each
 * way, so every host runs one destination and one source towards its peer; a lifecycle-event
 * watcher per host; the guest's images. After each test the guest is destroyed and undefined on
 * both hosts; after the class everything is stopped by PID and the namespaces are gone (also
 * when a test or the set-up failed, and from a shutdown hook if the JVM is ended first). The
 * logs stay in {@code target/libvirt/RUN/}.
 */
final class TwoHosts implements BeforeAllCallback, AfterEachCallback, AfterAllCallback {
    static final String A = "host-a";
    static final String B = "host-b";

    private final List<AutoCloseable> resources = new ArrayList<>();
    private final Measurements measurements = new Measurements();
    private Path dir;
    private LibvirtHost a;
    private LibvirtHost b;
    private Tunnel aToB;
    private Tunnel bToA;
    private DomainEvents eventsA;
    private DomainEvents eventsB;
    private Guest guest;
    private Thread shutdownHook;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        RealBinaries.require("libvirtd", "virsh", "qemu-system-x86_64", "qemu-img", "unshare", "nsenter", "ss",
            "ip", "curl", "openssl");
        dir = Files.createDirectories(Path.of("target", "libvirt",
            LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")))).toAbsolutePath();
        shutdownHook = new Thread(this::closeAll, "libvirt-hosts-cleanup");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        try {
            guest = BusyLibvirtGuest.create(dir.resolve("guest"));
            a = own(LibvirtHost.start(A, dir.resolve(A)));
            b = own(LibvirtHost.start(B, dir.resolve(B)));
            HostCertificates pki = HostCertificates.newCa(dir.resolve("pki"));
            HostLink.join(a, b);
            for (LibvirtHost h : List.of(a, b)) {
                h.append("/etc/hosts", a.address() + " " + A + "\n" + b.address() + " " + B);
                pki.install(h);
            }
            aToB = own(Tunnel.start(a, b));
            bToA = own(Tunnel.start(b, a));
            eventsA = DomainEvents.watch(a, dir);
            eventsB = DomainEvents.watch(b, dir);
        } catch (Exception | AssertionError e) {
            closeAll();
            throw e;
        }
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        for (LibvirtHost h : List.of(a, b)) {
            if (!h.domainState(guest.name()).startsWith("(no such domain")) {
                h.virsh("destroy", guest.name());
                h.virshOk("undefine", guest.name());
            }
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (!measurements.isEmpty()) {
            System.out.println("libvirt migrations of one guest (" + guest.description() + "), measured in this run:\n"
                + measurements.table());
        }
        closeAll();
        if (shutdownHook != null) {
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs or ran: nothing left to remove
            }
        }
    }

    LibvirtHost a() {
        return a;
    }

    LibvirtHost b() {
        return b;
    }

    /** The tunnel for migrations from {@code from} into {@code to}. */
    Tunnel tunnel(LibvirtHost from, LibvirtHost to) {
        Tunnel t = from == a && to == b ? aToB : from == b && to == a ? bToA : null;
        if (t == null) {
            throw new IllegalArgumentException("no tunnel " + from + "->" + to);
        }
        return t;
    }

    /** The destination ports of both tunnels: the only TCP connections between the hosts. */
    List<Integer> tunnelPorts() {
        return List.of(aToB.port(), bToA.port());
    }

    DomainEvents events(LibvirtHost host) {
        return host == a ? eventsA : eventsB;
    }

    Guest guest() {
        return guest;
    }

    Measurements measurements() {
        return measurements;
    }

    /** Where a test may put files of its own. */
    Path dir() {
        return dir;
    }

    /** Logs of every process of both hosts, for a failure message. */
    String logs() {
        return a.libvirtdLog() + b.libvirtdLog() + aToB.logs() + bToA.logs();
    }

    private <T extends AutoCloseable> T own(T resource) {
        resources.add(resource);
        return resource;
    }

    private synchronized void closeAll() {
        for (int i = resources.size() - 1; i >= 0; i--) {
            try {
                resources.get(i).close();
            } catch (Exception e) {
                System.err.println("closing " + resources.get(i) + ": " + e);
            }
        }
        resources.clear();
        if (dir != null) {
            deleteAllButLogs(dir);
        }
    }

    /** Removes the images and overlays (hundreds of MiB) of a finished run; keeps every logs/ directory. */
    private static void deleteAllButLogs(Path root) {
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                if (p.equals(root) || root.relativize(p).toString().contains("logs")) {
                    continue;
                }
                if (!Files.isDirectory(p) || isEmpty(p)) {
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException e) {
            System.err.println("cleaning " + root + ": " + e);
        }
    }

    private static boolean isEmpty(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.findAny().isEmpty();
        }
    }
}
