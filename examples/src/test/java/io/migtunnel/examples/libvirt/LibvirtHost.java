package io.migtunnel.examples.libvirt;

import io.migtunnel.testing.Await;
import io.migtunnel.testing.Cmd;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * One libvirt "host" on this machine: a mount and UTS namespace (BACKGROUND.md section 8) with
 * its own hostname and {@code host_uuid} (libvirt refuses to migrate to itself), its own
 * {@code /etc} and {@code /var} (overlays on the machine's, so {@code /etc/libvirt},
 * {@code /etc/passwd}, {@code /etc/migtunnel} and {@code /var/lib|log|cache/libvirt} are this
 * host's and nothing is written to the machine's), an empty {@code /run} and a network namespace
 * of its own (loopback only, until {@link HostLink} joins it to its peer); and a
 * {@code libvirtd} started by hand in it (there is no systemd here).
 *
 * <p>Programs run "on" the host through {@code nsenter} into its namespaces, so they see the
 * host's own paths ({@code /run/migtunnel/PEER/mig.sock} is a different file on each host). From
 * outside, {@link #path} reaches the same files through {@code /proc/PID/root}. The network is
 * the machine's: both hosts share loopback, and the destination's libvirtd is reached over its
 * UNIX socket ({@link #uri}).
 *
 * <p>{@link #close} stops everything that runs in the namespace, by PID: the domains
 * ({@code virsh destroy}), libvirtd, then any process left in the mount namespace (a QEMU whose
 * libvirtd is gone), then the process that holds the namespaces, which then disappear.
 */
final class LibvirtHost implements AutoCloseable {
    private static final Duration START = Duration.ofSeconds(30);
    private static final Duration VIRSH = Duration.ofSeconds(60);
    /** The user and group Debian's libvirt is built to run QEMU as; libvirtd does not start without them. */
    private static final String QEMU_USER = "libvirt-qemu:x:64055:64055:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin";
    private static final String QEMU_GROUP = "libvirt-qemu:x:64055:";

    private final String name;
    private final Path dir;
    private final List<Daemon> daemons = new ArrayList<>();
    private Daemon holder;
    private Daemon libvirtd;
    private String address;

    private LibvirtHost(String name, Path dir) {
        this.name = name;
        this.dir = dir;
    }

    /** Makes the namespaces and starts libvirtd in them; {@code dir} holds the overlays and the logs. */
    static LibvirtHost start(String name, Path dir) throws Exception {
        LibvirtHost host = new LibvirtHost(name, dir);
        try {
            host.makeNamespaces();
            host.configure();
            host.startLibvirtd();
            return host;
        } catch (Exception | AssertionError e) {
            host.close();
            throw e;
        }
    }

    String name() {
        return name;
    }

    /** Where this host's logs go. */
    Path logs() {
        return dir.resolve("logs");
    }

    /** {@code inside} (an absolute path on this host) as seen from outside: through /proc/PID/root. */
    Path path(String inside) {
        if (!inside.startsWith("/")) {
            throw new IllegalArgumentException("not absolute: " + inside);
        }
        return Path.of("/proc/" + holder.pid() + "/root" + inside);
    }

    /** The holder's PID: its namespaces are this host's. */
    long pid() {
        return holder.pid();
    }

    /** This host's address on the link to its peer ({@link HostLink}). */
    String address() {
        if (address == null) {
            throw new IllegalStateException(name + " is not linked to a peer");
        }
        return address;
    }

    void address(String linkAddress) {
        this.address = linkAddress;
    }

    /** This host's TCP counters now ({@code /proc/PID/net/snmp}: its network namespace's). */
    TcpCounters tcpCounters() throws IOException {
        return TcpCounters.read(Path.of("/proc/" + holder.pid() + "/net/snmp"));
    }

    /** This host's TCP connections now, listeners left out ({@code /proc/PID/net/tcp} and {@code tcp6}). */
    List<TcpCounters.Connection> tcpConnections() throws IOException {
        List<TcpCounters.Connection> all = new ArrayList<>(TcpCounters.connections(Path.of("/proc/" + holder.pid()
            + "/net/tcp")));
        all.addAll(TcpCounters.connections(Path.of("/proc/" + holder.pid() + "/net/tcp6")));
        return all;
    }

    /** The URI another host's libvirtd reaches this one's with: its UNIX socket, seen from any namespace. */
    String uri() {
        return "qemu+unix:///system?socket=" + path("/run/libvirt/libvirt-sock");
    }

    /** {@code command} as it runs on this host: in its mount and UTS namespaces. */
    List<String> onHost(List<String> command) {
        List<String> out = new ArrayList<>(List.of("nsenter", "--target", Long.toString(holder.pid()), "--mount",
            "--uts", "--net", "--"));
        out.addAll(command);
        return out;
    }

    /** Runs {@code command} on this host to its end. */
    Cmd.Result run(Duration timeout, List<String> command) throws Exception {
        return Cmd.run(timeout, onHost(command));
    }

    /** Runs {@code virsh -c qemu:///system ARGS} on this host to its end. */
    Cmd.Result virsh(String... args) throws Exception {
        return run(VIRSH, virshCommand(args));
    }

    /** Like {@link #virsh}, and fails with its output and libvirtd's unless it exits 0. */
    Cmd.Result virshOk(String... args) throws Exception {
        Cmd.Result r = virsh(args);
        if (r.exitCode() != 0) {
            throw new AssertionError("on " + name + ": " + r.describe() + "\n" + libvirtd.log());
        }
        return r;
    }

    static List<String> virshCommand(String... args) {
        List<String> command = new ArrayList<>(List.of("virsh", "-q", "-c", "qemu:///system"));
        command.addAll(List.of(args));
        return command;
    }

    /** Starts a long-running {@code command} on this host; stopped by {@link #close} at the latest. */
    Daemon spawn(String daemonName, List<String> command) throws IOException {
        Daemon d = Daemon.start(daemonName + "@" + name, onHost(command), logs().resolve(daemonName + ".log"));
        daemons.add(d);
        return d;
    }

    /** libvirtd's log (warnings and errors) for failure messages. */
    String libvirtdLog() {
        return libvirtd == null ? "" : libvirtd.log();
    }

    /** The domain's state as {@code virsh domstate} says it ("running", "shut off", ...), or the error. */
    String domainState(String domain) throws Exception {
        Cmd.Result r = virsh("domstate", domain);
        return r.exitCode() == 0 ? r.stdout().strip() : "(no such domain: " + r.stderr().strip() + ")";
    }

    /** Makes directory {@code inside} on this host with {@code mode} (rwx form), parents included. */
    Path directory(String inside, String mode) throws IOException {
        Path p = Files.createDirectories(path(inside));
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(mode));
        return p;
    }

    /** Adds {@code line} to file {@code inside} of this host (its own copy: the overlay keeps the machine's). */
    void append(String inside, String line) throws IOException {
        Path file = path(inside);
        String text = Files.exists(file) ? Files.readString(file) : "";
        Files.writeString(file, text + (text.isEmpty() || text.endsWith("\n") ? "" : "\n") + line + "\n");
    }

    private void makeNamespaces() throws Exception {
        Path etc = dir.resolve("etc");
        Path var = dir.resolve("var");
        for (Path p : List.of(etc.resolve("upper"), etc.resolve("work"), var.resolve("upper"), var.resolve("work"))) {
            Files.createDirectories(p);
        }
        String script = "set -e\n"
            + overlay("/etc", etc) + overlay("/var", var)
            + "mount -t tmpfs -o mode=0755 tmpfs /run\n"
            + "hostname " + name + "\n"
            + "ip link set lo up\n"
            + "echo ready\n"
            + "exec sleep infinity\n";
        holder = Daemon.start("namespaces@" + name,
            List.of("unshare", "--mount", "--uts", "--net", "--propagation", "private", "--", "sh", "-c", script),
            logs().resolve("namespaces.log"));
        Await.until("the namespaces of " + name, START, () -> {
            holder.assertAlive();
            return holder.output().contains("ready");
        });
    }

    private static String overlay(String target, Path layers) {
        return "mount -t overlay overlay -o lowerdir=" + target + ",upperdir=" + layers.resolve("upper") + ",workdir="
            + layers.resolve("work") + " " + target + "\n";
    }

    private void configure() throws IOException {
        Files.createDirectories(path("/etc/libvirt"));
        Files.writeString(path("/etc/libvirt/libvirtd.conf"), String.join("\n",
            "# " + name + " of LibvirtMigrationTest: libvirt refuses to migrate to a host with its own UUID",
            "host_uuid = \"" + UUID.randomUUID() + "\"",
            "auth_unix_rw = \"none\"",
            "auth_unix_ro = \"none\"",
            "unix_sock_rw_perms = \"0700\"",
            "log_outputs = \"3:stderr\"", ""));
        Files.writeString(path("/etc/libvirt/qemu.conf"), String.join("\n",
            "# QEMU runs as root: postcopy needs userfaultfd, which vm.unprivileged_userfaultfd=0 keeps from others",
            "user = \"root\"",
            "group = \"root\"",
            "# no AppArmor or SELinux here; no cgroups to place QEMU in; no virtlogd",
            "security_driver = \"none\"",
            "cgroup_controllers = [ ]",
            "stdio_handler = \"file\"", ""));
        if (Files.readAllLines(path("/etc/passwd")).stream().noneMatch(l -> l.startsWith("libvirt-qemu:"))) {
            append("/etc/passwd", QEMU_USER);
            append("/etc/group", QEMU_GROUP);
        }
        for (String d : List.of("/var/lib/libvirt/images", "/var/log/libvirt/qemu", "/var/cache/libvirt")) {
            Files.createDirectories(path(d));
        }
    }

    private void startLibvirtd() throws Exception {
        libvirtd = spawn("libvirtd", List.of("libvirtd"));
        try {
            Await.until("libvirtd on " + name + " to answer", START, () -> {
                libvirtd.assertAlive();
                return Files.exists(path("/run/libvirt/libvirt-sock"), LinkOption.NOFOLLOW_LINKS)
                    && virsh("hostname").stdout().strip().equals(name);
            });
        } catch (AssertionError e) {
            String hint = libvirtd.output().contains("no connection driver available")
                ? "\n(libvirtd has no QEMU driver: install the Debian package libvirt-daemon-driver-qemu)" : "";
            throw new AssertionError(e.getMessage() + hint + "\n" + libvirtd.log(), e);
        }
    }

    /** PIDs of the processes in this host's mount namespace, the holder excluded. */
    private List<Long> processesInNamespace() throws IOException {
        Path own = Path.of("/proc/" + holder.pid() + "/ns/mnt");
        if (!Files.exists(own)) {
            return List.of();
        }
        String ns = Files.readSymbolicLink(own).toString();
        List<Long> pids = new ArrayList<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : (Iterable<Path>) procs::iterator) {
                String n = p.getFileName().toString();
                if (!n.chars().allMatch(Character::isDigit) || Long.parseLong(n) == holder.pid()) {
                    continue;
                }
                try {
                    if (Files.readSymbolicLink(p.resolve("ns/mnt")).toString().equals(ns)) {
                        pids.add(Long.parseLong(n));
                    }
                } catch (IOException gone) {
                    // ended meanwhile, or not ours to read
                }
            }
        }
        return pids;
    }

    /**
     * Stops everything on this host, in order: its domains, the daemons started on it (newest
     * first), libvirtd, whatever is left in the namespace (by PID), and the holder. Fails afterwards
     * if a process outlived all that.
     */
    @Override
    public void close() {
        List<String> problems = new ArrayList<>();
        if (holder == null) {
            return;
        }
        if (libvirtd != null && libvirtd.alive()) {
            try {
                Cmd.Result list = virsh("list", "--name");
                for (String domain : list.stdout().strip().lines().filter(l -> !l.isBlank()).toList()) {
                    virsh("destroy", domain);
                }
            } catch (Exception | AssertionError e) {
                problems.add("destroying the domains: " + e);
            }
        }
        for (int i = daemons.size() - 1; i >= 0; i--) {
            daemons.get(i).close();
        }
        try {
            for (long pid : processesInNamespace()) {
                ProcessHandle.of(pid).ifPresent(p -> {
                    problems.add("left running on " + name + ", killed: " + pid + " "
                        + p.info().commandLine().orElse("?"));
                    p.destroyForcibly();
                });
            }
            Await.until("the processes of " + name + " to end", Duration.ofSeconds(10),
                () -> processesInNamespace().isEmpty());
        } catch (Exception | AssertionError e) {
            problems.add(e.toString());
        }
        holder.close();
        if (!problems.isEmpty()) {
            System.err.println("LibvirtHost " + name + " close: " + String.join("\n  ", problems));
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
