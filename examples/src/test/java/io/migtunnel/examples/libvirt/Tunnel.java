package io.migtunnel.examples.libvirt;

import io.migtunnel.metrics.Scraper;
import io.migtunnel.testing.Await;
import io.migtunnel.testing.ListeningSockets;
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
 * cluster" says: {@code migtunnel destination} on the destination host routes {@code migration}
 * and {@code nbd} to {@code /run/migtunnel/TO/{mig,nbd}.sock}, where libvirt's incoming QEMU
 * listens; {@code migtunnel source} on the source host connects to it by name ({@code TO:PORT},
 * mutual TLS with the hosts' own certificates, the destination allowing only {@code DNS:FROM}) and
 * exposes the same two paths on its own host, where libvirt's source QEMU connects. The
 * directories are named after the destination host, so a host's incoming directory and its
 * sources' directories never share a path.
 */
final class Tunnel implements AutoCloseable {
    private static final Duration START = Duration.ofSeconds(60);
    private static final Duration STOP = Duration.ofSeconds(15);
    static final Path MIGTUNNEL = Path.of("").toAbsolutePath().getParent().resolve("bin/migtunnel");
    static final Path CLI_JAR = MIGTUNNEL.getParent().getParent().resolve("cli/target/migtunnel-cli.jar");

    private final LibvirtHost from;
    private final LibvirtHost to;
    private final String dir;
    private final int port;
    private final Daemon destination;
    private final Daemon source;
    private final Scraper sourceMetrics;
    private final Scraper destinationMetrics;

    private Tunnel(LibvirtHost from, LibvirtHost to, String dir, int port, Daemon destination, Daemon source,
                   int sourceMetrics, int destinationMetrics) {
        this.from = from;
        this.to = to;
        this.dir = dir;
        this.port = port;
        this.destination = destination;
        this.source = source;
        this.sourceMetrics = new Scraper(sourceMetrics);
        this.destinationMetrics = new Scraper(destinationMetrics);
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

        List<String> dst = new ArrayList<>(List.of(MIGTUNNEL.toString(), "destination", "--listen", "127.0.0.1:" + port,
            "--route", "migration=" + dir + "/mig.sock", "--route", "nbd=" + dir + "/nbd.sock",
            "--tls-allow-subject", "DNS:" + from.name(), "--metrics", "127.0.0.1:" + destinationMetrics));
        dst.addAll(HostCertificates.options());
        dst.addAll(List.of(options));
        Daemon destination = to.spawn("migtunnel-destination-" + instance, dst);
        Await.until("the destination on " + to + " to listen on " + port, START, () -> {
            destination.assertAlive();
            return ListeningSockets.tcp(port);
        });

        List<String> src = new ArrayList<>(List.of(MIGTUNNEL.toString(), "source", "--connect", to.name() + ":" + port,
            "--expose", "migration=" + dir + "/mig.sock", "--expose", "nbd=" + dir + "/nbd.sock",
            "--metrics", "127.0.0.1:" + sourceMetrics));
        src.addAll(HostCertificates.options());
        src.addAll(List.of(options));
        Daemon source = from.spawn("migtunnel-source-" + instance, src);
        Tunnel tunnel = new Tunnel(from, to, dir, port, destination, source, sourceMetrics, destinationMetrics);
        try {
            Await.until("the source on " + from + " to expose " + dir + "/{mig,nbd}.sock", START, () -> {
                source.assertAlive();
                destination.assertAlive();
                return source.output().contains("ready:")
                    && Files.exists(from.path(dir + "/mig.sock"), LinkOption.NOFOLLOW_LINKS)
                    && Files.exists(from.path(dir + "/nbd.sock"), LinkOption.NOFOLLOW_LINKS);
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

    /** The destination's TCP port: the tunnel's one connection between the hosts. */
    int port() {
        return port;
    }

    Scraper sourceMetrics() {
        return sourceMetrics;
    }

    /** A sample of the source's metrics, 0 when absent. */
    double sourceSample(String name, Map<String, String> labels) throws Exception {
        double v = sourceMetrics.sample(name, labels);
        return Double.isNaN(v) ? 0 : v;
    }

    /** Both ends run and say a session is up. */
    void assertUp() throws Exception {
        source.assertAlive();
        destination.assertAlive();
        if (sourceMetrics.get("/health").statusCode() != 200 || destinationMetrics.get("/health").statusCode() != 200) {
            throw new AssertionError("tunnel " + this + " has no session up\n" + logs());
        }
    }

    /** Waits until {@link #assertUp} holds: after the source connected to a new session. */
    void awaitUp() throws Exception {
        Await.until("tunnel " + this + " to have a session up again", START, () -> {
            source.assertAlive();
            destination.assertAlive();
            return sourceMetrics.get("/health").statusCode() == 200 && destinationMetrics.get("/health").statusCode() == 200;
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
