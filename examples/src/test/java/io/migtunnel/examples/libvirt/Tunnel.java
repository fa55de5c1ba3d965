package io.migtunnel.examples.libvirt;

import io.migtunnel.testing.Await;
import io.migtunnel.testing.Cmd;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The migtunnel forwarders for migrations from one host into another, deployed as README "A
 * cluster" says: {@code migtunnel destination} on the destination host (listening on its link
 * address) routes {@code migration} and {@code nbd} to {@code /run/migtunnel/TO/{mig,nbd}.sock},
 * where libvirt's incoming QEMU listens, and {@code libvirt} to its libvirtd's own socket
 * {@code /run/libvirt/libvirt-sock}; {@code migtunnel source} on the source host connects to it by
 * name ({@code TO:PORT}, mutual TLS with the hosts' own certificates, the destination allowing
 * only {@code DNS:FROM}) and exposes the two QEMU paths and {@code /run/migtunnel/TO/libvirt.sock}
 * on its own host, where libvirt's source QEMU and source libvirtd connect (issue 14). The
 * directories are named after the destination host, so a host's incoming directory and its
 * sources' directories never share a path.
 */
final class Tunnel implements AutoCloseable {
    private static final Duration START = Duration.ofSeconds(60);
    private static final Duration STOP = Duration.ofSeconds(15);
    static final Path MIGTUNNEL = Path.of("").toAbsolutePath().getParent().resolve("bin/migtunnel");
    /** Where a host's libvirtd listens (read-write), the path the destination routes {@code libvirt} to. */
    static final String LIBVIRT_SOCKET = "/run/libvirt/libvirt-sock";
    static final Path CLI_JAR = MIGTUNNEL.getParent().getParent().resolve("cli/target/migtunnel-cli.jar");

    private final LibvirtHost from;
    private final LibvirtHost to;
    private final String dir;
    private final int port;
    private final Daemon destination;
    private final Daemon source;
    private final HostMetrics sourceMetrics;
    private final HostMetrics destinationMetrics;

    private Tunnel(LibvirtHost from, LibvirtHost to, String dir, int port, Daemon destination, Daemon source,
                   int sourceMetrics, int destinationMetrics) {
        this.from = from;
        this.to = to;
        this.dir = dir;
        this.port = port;
        this.destination = destination;
        this.source = source;
        this.sourceMetrics = new HostMetrics(from, sourceMetrics);
        this.destinationMetrics = new HostMetrics(to, destinationMetrics);
    }

    /**
     * Starts both ends for migrations from {@code from} into {@code to} (their certificates
     * installed) and returns once the source exposes its sockets; {@code options} go to both roles.
     */
    static Tunnel start(LibvirtHost from, LibvirtHost to, String... options) throws Exception {
        return startIn(directory(to), from, to, options);
    }

    /**
     * Like {@link #start}, with the sockets in {@code dir} on both hosts instead of the README's
     * directory: for a second tunnel into the same host.
     */
    static Tunnel startIn(String dir, LibvirtHost from, LibvirtHost to, String... options) throws Exception {
        if (!Files.exists(CLI_JAR)) {
            throw new AssertionError(CLI_JAR + " not found: build it with `./mvnw -o -q -pl cli package -DskipTests`");
        }
        int port = freePort();
        int destinationMetrics = freePort();
        int sourceMetrics = freePort();
        String instance = Path.of(dir).getFileName().toString();
        // what migtunnel-destination's ExecStartPre= and migtunnel-source@TO's RuntimeDirectory= make
        to.directory(dir, "rwxrwx---");
        from.directory(dir, "rwxr-xr-x");

        List<String> dst = new ArrayList<>(List.of(MIGTUNNEL.toString(), "destination", "--listen", to.address() + ":" + port,
            "--route", "migration=" + dir + "/mig.sock", "--route", "nbd=" + dir + "/nbd.sock",
            "--route", "libvirt=" + LIBVIRT_SOCKET,
            "--tls-allow-subject", "DNS:" + from.name(), "--metrics", "127.0.0.1:" + destinationMetrics));
        dst.addAll(HostCertificates.options());
        dst.addAll(List.of(options));
        Daemon destination = to.spawn("migtunnel-destination-" + instance, dst);
        Await.until("the destination on " + to + " to listen on " + port, START, () -> {
            destination.assertAlive();
            return !to.run(Duration.ofSeconds(10), List.of("ss", "-Hltn", "sport", "=", ":" + port)).stdout().isBlank();
        });

        List<String> src = new ArrayList<>(List.of(MIGTUNNEL.toString(), "source", "--connect", to.name() + ":" + port,
            "--expose", "migration=" + dir + "/mig.sock", "--expose", "nbd=" + dir + "/nbd.sock",
            "--expose", "libvirt=" + dir + "/libvirt.sock", "--metrics", "127.0.0.1:" + sourceMetrics));
        src.addAll(HostCertificates.options());
        src.addAll(List.of(options));
        Daemon source = from.spawn("migtunnel-source-" + instance, src);
        Tunnel tunnel = new Tunnel(from, to, dir, port, destination, source, sourceMetrics, destinationMetrics);
        try {
            Await.until("the source on " + from + " to expose " + dir + "/{mig,nbd,libvirt}.sock", START, () -> {
                source.assertAlive();
                destination.assertAlive();
                return source.output().contains("ready:")
                    && Files.exists(from.path(dir + "/mig.sock"), LinkOption.NOFOLLOW_LINKS)
                    && Files.exists(from.path(dir + "/nbd.sock"), LinkOption.NOFOLLOW_LINKS)
                    && Files.exists(from.path(dir + "/libvirt.sock"), LinkOption.NOFOLLOW_LINKS);
            });
        } catch (AssertionError e) {
            tunnel.close();
            throw new AssertionError(e.getMessage() + "\n" + source.log() + destination.log(), e);
        }
        return tunnel;
    }

    /** The directory of migrations into {@code host}, on every host: {@code /run/migtunnel/HOST}. */
    static String directory(LibvirtHost host) {
        return "/run/migtunnel/" + host.name();
    }

    LibvirtHost from() {
        return from;
    }

    LibvirtHost to() {
        return to;
    }

    /** {@code virsh migrate --migrateuri}: the exposed migration socket (also the incoming QEMU's path). */
    String migrateUri() {
        return "unix://" + dir + "/mig.sock";
    }

    /** {@code virsh migrate --disks-uri}: the exposed NBD socket. */
    String disksUri() {
        return "unix://" + dir + "/nbd.sock";
    }

    /**
     * The p2p destination URI of {@code virsh migrate} through the tunnel: the source libvirtd's
     * RPC connection to the destination's goes to the socket the source exposes.
     */
    String libvirtUri() {
        return "qemu+unix:///system?socket=" + dir + "/libvirt.sock";
    }

    /**
     * The destination URI {@code libvirtUri} and the options of {@code virsh migrate} that send
     * migration and disks through this tunnel; fails unless it goes from {@code from} to {@code to}.
     */
    List<String> arguments(LibvirtHost from, LibvirtHost to, String libvirtUri) {
        if (from != this.from || to != this.to) {
            throw new IllegalArgumentException("tunnel " + this + " does not go from " + from + " to " + to);
        }
        return List.of(libvirtUri, "--migrateuri", migrateUri(), "--disks-uri", disksUri());
    }

    /** The destination's TCP port: the tunnel's one connection between the hosts. */
    int port() {
        return port;
    }

    /** A sample of the source's metrics, 0 when absent. */
    double sourceSample(String name, Map<String, String> labels) throws Exception {
        return sourceMetrics.sample(name, labels);
    }

    /**
     * Resets the tunnel's TCP connection from outside the JVM, as a router would: {@code ss -K} in
     * the source host's network namespace. Returns how many sockets ss destroyed.
     */
    int cut() throws Exception {
        Cmd.Result r = from.run(Duration.ofSeconds(30), List.of("ss", "-K", "-H", "-t", "state", "established",
            "dport", "=", ":" + port));
        if (r.exitCode() != 0) {
            throw new AssertionError("ss -K on " + from + ": " + r.describe());
        }
        return (int) r.stdout().lines().filter(l -> !l.isBlank()).count();
    }

    /** Both ends run and say a session is up. */
    void assertUp() throws Exception {
        source.assertAlive();
        destination.assertAlive();
        if (!sourceMetrics.healthy() || !destinationMetrics.healthy()) {
            throw new AssertionError("tunnel " + this + " has no session up\n" + logs());
        }
    }

    /** Waits until {@link #assertUp} holds: after the source connected to a new session. */
    void awaitUp() throws Exception {
        Await.until("tunnel " + this + " to have a session up again", START, () -> {
            source.assertAlive();
            destination.assertAlive();
            return sourceMetrics.healthy() && destinationMetrics.healthy();
        });
    }

    /** The end of both forwarders' logs, for failure messages. */
    String logs() {
        return source.log() + destination.log();
    }

    @Override
    public void close() {
        source.stop(STOP);
        destination.stop(STOP);
    }

    @Override
    public String toString() {
        return from + "->" + to;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
