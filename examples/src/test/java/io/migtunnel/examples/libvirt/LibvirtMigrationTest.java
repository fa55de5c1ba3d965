package io.migtunnel.examples.libvirt;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * libvirt drives, migtunnel carries (README "Under libvirt", issues 13 and 14): real libvirtd and
 * virsh (Debian's libvirt 9.0) on two hosts in their own namespaces, mount, UTS and network,
 * joined by a veth pair ({@link TwoHosts}); {@code virsh migrate --live --p2p --copy-storage-all}
 * of the project's busy guest ({@link BusyLibvirtGuest}: it dirties RAM and writes its two IDE
 * qcow2 disks all the time) through migtunnel forwarders with mutual TLS, on the README's paths
 * per direction, libvirt's own RPC connection between the daemons in the tunnel too.
 *
 * <p>After every migration: virsh migrate succeeded; the destination runs the domain and the
 * source does not; the guest runs on there from where it was (its status block and its serial
 * port on the destination advance) and {@code GuestCheck} finds its RAM intact; through the
 * tunnel, the streams libvirt opened crossed it (one per disk, one per migration connection, one
 * for libvirt's RPC) with the whole disks; during it the only TCP connection between the hosts
 * was the tunnel's and none was opened ({@link LinkWatch}); and once its QEMU is stopped,
 * {@code GuestCheck} finds every disk on the destination holding each sector's latest write.
 *
 * <p>The same migrations with libvirt's RPC outside the tunnel, and libvirt's own migration (TCP
 * for RAM and NBD), run in the same class; the times and downtimes of all are printed at the end,
 * for the README (never asserted).
 */
class LibvirtMigrationTest {
    @RegisterExtension
    static final TwoHosts HOSTS = new TwoHosts();

    @ParameterizedTest(name = "{0}")
    @EnumSource(Variant.class)
    void migratesThroughMigtunnel(Variant variant) throws Exception {
        LibvirtHost a = HOSTS.a();
        LibvirtHost b = HOSTS.b();
        Tunnel tunnel = HOSTS.tunnel(a, b);
        HOSTS.guest().startOn(a);
        Streams before = Streams.of(tunnel);
        LinkWatch link = LinkWatch.start(a, b);

        Migration.Result result = migrate(a, b, Route.through(tunnel), variant);

        link.assertOnlyTheTunnelCrossed(tunnel.port(), HOSTS.tunnelPorts());
        assertArrived(a, b);
        Streams after = Streams.of(tunnel);
        after.assertCarried(before, variant.migrationConnections(), 1, HOSTS.guest());
        after.assertAgreesWith(before, result.completed());
        HOSTS.measurements().record(result);
        assertDisksIntact(a, b);
    }

    /**
     * The same through the tunnel, but libvirt's RPC connection goes to the destination libvirtd's
     * UNIX socket directly (as {@code qemu+ssh} would go around the tunnel): for the measurement of
     * RPC inside against outside.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Variant.class)
    void withLibvirtsRpcOutsideTheTunnelForComparison(Variant variant) throws Exception {
        LibvirtHost a = HOSTS.a();
        LibvirtHost b = HOSTS.b();
        Tunnel tunnel = HOSTS.tunnel(a, b);
        HOSTS.guest().startOn(a);
        Streams before = Streams.of(tunnel);

        Migration.Result result = migrate(a, b, Route.throughRpcOutside(tunnel), variant);

        assertArrived(a, b);
        Streams.of(tunnel).assertCarried(before, variant.migrationConnections(), 0, HOSTS.guest());
        HOSTS.measurements().record(result);
        assertDisksIntact(a, b);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Variant.class)
    void libvirtsOwnMigrationOfTheSameGuestForComparison(Variant variant) throws Exception {
        LibvirtHost a = HOSTS.a();
        LibvirtHost b = HOSTS.b();
        HOSTS.guest().startOn(a);
        Streams before = Streams.of(HOSTS.tunnel(a, b));
        LinkWatch link = LinkWatch.start(a, b);

        Migration.Result result = migrate(a, b, Route.direct(), variant);

        assertThat(link.acceptedByB()).as("TCP connections %s accepted: QEMU's migration connections and one NBD"
            + " connection per disk, across the link", b)
            .isGreaterThanOrEqualTo(variant.migrationConnections() + HOSTS.guest().diskPaths().size());
        assertArrived(a, b);
        assertThat(Streams.of(HOSTS.tunnel(a, b))).as("the tunnel's streams: libvirt's own migration bypasses it")
            .isEqualTo(before);
        HOSTS.measurements().record(result);
        assertDisksIntact(a, b);
    }

    /**
     * Every host is a source and a destination: host-b migrates the guest back over the second
     * pair of paths ({@code /run/migtunnel/host-a/}), and neither incoming QEMU touches a socket of
     * the sources (each path per direction is named after the destination host).
     */
    @Test
    void migratesBackFromTheDestinationOverTheSecondPairOfPaths() throws Exception {
        LibvirtHost a = HOSTS.a();
        LibvirtHost b = HOSTS.b();
        Tunnel there = HOSTS.tunnel(a, b);
        Tunnel back = HOSTS.tunnel(b, a);
        Map<String, Object> sockets = exposedSockets(there, back);
        HOSTS.guest().startOn(a);
        Streams thereBefore = Streams.of(there);
        Streams backBefore = Streams.of(back);

        migrate(a, b, Route.through(there), Variant.PRECOPY);
        assertArrived(a, b);
        migrate(b, a, Route.through(back), Variant.PRECOPY);
        assertArrived(b, a);

        Streams.of(there).assertCarried(thereBefore, 1, 1, HOSTS.guest());
        Streams.of(back).assertCarried(backBefore, 1, 1, HOSTS.guest());
        assertThat(exposedSockets(there, back)).as("the sources' sockets (inodes) after a migration each way")
            .isEqualTo(sockets);
        there.assertUp();
        back.assertUp();
        assertDisksIntact(b, a);
    }

    @Test
    void domjobabortMidCopyLeavesTheSourceRunningAndTheTunnelUsable() throws Exception {
        LibvirtHost a = HOSTS.a();
        LibvirtHost b = HOSTS.b();
        Tunnel tunnel = HOSTS.tunnel(a, b);
        Guest guest = HOSTS.guest();
        guest.startOn(a);
        guest.prepareIncoming(b);
        Migration migration = Migration.start(guest, a, b, Route.through(tunnel), Variant.PRECOPY, "--bandwidth", "20");
        JobInfo midCopy = migration.awaitJob("the disks being copied", JobInfo::copyingDisks);

        migration.abort();

        Migration.Result aborted = migration.await();
        assertThat(aborted.succeeded()).as("virsh migrate after domjobabort (disks at %s of %s)\n%s",
            midCopy.fields().get("File processed"), midCopy.fields().get("File total"), aborted.describe()).isFalse();
        assertThat(aborted.exit().output()).as(aborted.describe()).containsIgnoringCase("cancel");
        assertThat(a.domainState(guest.name())).as("the source's domain after the abort").isEqualTo("running");
        assertThat(b.domainState(guest.name())).as("the destination's domain after the abort").startsWith("(no such domain");
        guest.assertIntact(a);
        tunnel.assertUp();

        Streams before = Streams.of(tunnel);
        migrate(a, b, Route.through(tunnel), Variant.PRECOPY);
        assertArrived(a, b);
        Streams.of(tunnel).assertCarried(before, 1, 1, guest);
        assertDisksIntact(a, b);
    }

    /**
     * {@code ss -K} resets the tunnel's one TCP connection while the disks are being copied: the
     * source forwarder connects again and resumes the session, every stream continues where it
     * was (QEMU opens no new connection, and libvirt's RPC connection, inside the tunnel too,
     * neither ends nor is opened again), and the migration completes.
     */
    @Test
    void aCutOfTheTunnelsConnectionMidCopyIsResumedAndTheMigrationCompletes() throws Exception {
        LibvirtHost a = HOSTS.a();
        LibvirtHost b = HOSTS.b();
        Tunnel tunnel = HOSTS.tunnel(a, b);
        Guest guest = HOSTS.guest();
        guest.startOn(a);
        guest.prepareIncoming(b);
        Streams before = Streams.of(tunnel);
        LinkWatch link = LinkWatch.start(a, b);
        Migration migration = Migration.start(guest, a, b, Route.through(tunnel), Variant.PRECOPY, "--bandwidth", "32");
        migration.awaitJob("the disks being copied", JobInfo::copyingDisks);

        int cut = tunnel.cut();

        assertThat(cut).as("TCP connections of port %d that ss -K destroyed", tunnel.port()).isPositive();
        assertThat(migration.jobInfo().type()).as("the migration job right after the cut").isEqualTo("Unbounded");
        migration.await().assertSucceeded();
        assertThat(link.acceptedByB()).as("TCP connections %s accepted meanwhile: the source forwarder's new one", b)
            .isPositive();
        assertArrived(a, b);
        Streams after = Streams.of(tunnel);
        after.assertCarried(before, 1, 1, guest);
        assertThat(after.resumed - before.resumed).as("sessions resumed by the source\n%s", tunnel.logs()).isPositive();
        assertThat(a.libvirtdLog() + b.libvirtdLog()).as("libvirtd's warnings and errors on both hosts")
            .doesNotContainIgnoringCase("keepalive").doesNotContainIgnoringCase("connection closed");
        assertDisksIntact(a, b);
    }

    /**
     * The same cut with session resume off ({@code --resume-grace 0}, as before resume existed),
     * through a second tunnel into host-b with its own directory: the session ends, the migration
     * fails, the source still runs its guest, and the next migration goes through the new session
     * the source forwarder connected to meanwhile.
     */
    @Test
    void withoutSessionResumeACutFailsTheMigrationAndTheSourceKeepsRunning() throws Exception {
        LibvirtHost a = HOSTS.a();
        LibvirtHost b = HOSTS.b();
        Guest guest = HOSTS.guest();
        try (Tunnel tunnel = Tunnel.startIn(Tunnel.directory(b) + "-noresume", a, b, "--resume-grace", "0")) {
            guest.startOn(a);
            guest.prepareIncoming(b);
            Migration migration = Migration.start(guest, a, b, Route.through(tunnel), Variant.PRECOPY, "--bandwidth", "32");
            migration.awaitJob("the disks being copied", JobInfo::copyingDisks);

            assertThat(tunnel.cut()).as("TCP connections of port %d that ss -K destroyed", tunnel.port())
                .isPositive();

            Migration.Result failed = migration.await();
            assertThat(failed.succeeded()).as("virsh migrate after the cut, without resume\n%s", failed.describe()).isFalse();
            System.out.println("without resume, a cut mid-copy ends virsh migrate with: "
                + failed.exit().output().strip());
            assertThat(a.domainState(guest.name())).as("the source's domain after the failed migration").isEqualTo("running");
            assertThat(b.domainState(guest.name())).as("the destination's domain").startsWith("(no such domain");
            guest.assertIntact(a);

            tunnel.awaitUp();
            Streams before = Streams.of(tunnel);
            migrate(a, b, Route.through(tunnel), Variant.PRECOPY);
            assertArrived(a, b);
            Streams.of(tunnel).assertCarried(before, 1, 1, guest);
            assertDisksIntact(a, b);
        }
    }

    // ---------------------------------------------------------------------------------------------

    /**
     * Migrates the guest (running on {@code from}) to {@code to}, which first gets what an incoming
     * guest needs; for {@link Variant#POSTCOPY}, caps RAM's precopy while the disks are copied,
     * switches to postcopy once RAM is being copied and waits for the source to say so
     * ("Suspended Post-copy").
     */
    private static Migration.Result migrate(LibvirtHost from, LibvirtHost to, Route route, Variant variant)
        throws Exception {
        Guest guest = HOSTS.guest();
        guest.prepareIncoming(to);
        DomainEvents events = HOSTS.events(from);
        int mark = events.mark();
        Migration migration = Migration.start(guest, from, to, route, variant);
        if (variant == Variant.POSTCOPY) {
            migration.awaitJob("the disks being copied", JobInfo::copyingDisks);
            migration.limitRamBandwidth();
            migration.awaitJob("RAM being migrated", JobInfo::migratingRam);
            migration.startPostcopy();
            events.await(mark, guest.name(), "Suspended Post-copy");
        }
        Migration.Result result = migration.await().assertSucceeded();
        events.await(mark, guest.name(), "Stopped Migrated");
        if (variant != Variant.POSTCOPY) {
            assertThat(events.since(mark, guest.name())).as("events of the source's domain").doesNotContain("Suspended Post-copy");
        }
        return result;
    }

    /** The destination runs the guest, intact; the source's domain is defined but no longer runs. */
    private static void assertArrived(LibvirtHost from, LibvirtHost to) throws Exception {
        Guest guest = HOSTS.guest();
        assertThat(to.domainState(guest.name())).as("the domain on the destination %s", to).isEqualTo("running");
        assertThat(from.domainState(guest.name())).as("the domain on the source %s", from).isEqualTo("shut off");
        guest.assertIntact(to);
    }

    /**
     * Stops the guest on {@code to} and checks its disks there; the source's QEMU ended with the
     * migration, so both domains are shut off.
     */
    private static void assertDisksIntact(LibvirtHost from, LibvirtHost to) throws Exception {
        Guest guest = HOSTS.guest();
        guest.stopAndAssertDisks(to);
        assertThat(List.of(from.domainState(guest.name()), to.domainState(guest.name())))
            .as("both QEMUs stopped").containsOnly("shut off");
    }

    /** The inode of each socket the sources of {@code tunnels} expose, by path and host. */
    private static Map<String, Object> exposedSockets(Tunnel... tunnels) throws Exception {
        Map<String, Object> inodes = new LinkedHashMap<>();
        for (Tunnel t : tunnels) {
            for (String uri : List.of(t.migrateUri(), t.disksUri())) {
                String path = uri.substring("unix://".length());
                inodes.put(t.from() + ":" + path, Files.getAttribute(t.from().path(path), "unix:ino", LinkOption.NOFOLLOW_LINKS));
            }
        }
        return inodes;
    }

    /** The source forwarder's counters of what crossed a tunnel. */
    private record Streams(double migration, double nbd, double libvirt, double nbdBytesSent, double resumed,
                           double migrationBytesSent) {
        static Streams of(Tunnel t) throws Exception {
            return new Streams(t.sourceSample("migtunnel_streams_opened_total", Map.of("stream", "migration")),
                t.sourceSample("migtunnel_streams_opened_total", Map.of("stream", "nbd")),
                t.sourceSample("migtunnel_streams_opened_total", Map.of("stream", "libvirt")),
                t.sourceSample("migtunnel_stream_bytes_total", Map.of("stream", "nbd", "direction", "sent")),
                t.sourceSample("migtunnel_session_resumes_total", Map.of("outcome", "resumed")),
                t.sourceSample("migtunnel_stream_bytes_total", Map.of("stream", "migration", "direction", "sent")));
        }

        /**
         * One migration went through: its migration connections, one NBD stream per disk with every
         * disk's bytes, and {@code rpcConnections} of libvirt's.
         */
        void assertCarried(Streams before, int migrationConnections, int rpcConnections, Guest guest) {
            assertThat(migration - before.migration).as("migration streams opened in the tunnel")
                .isEqualTo(migrationConnections);
            assertThat(libvirt - before.libvirt).as("libvirt (RPC) streams opened in the tunnel")
                .isEqualTo(rpcConnections);
            assertThat(nbd - before.nbd).as("nbd streams opened in the tunnel (one per disk)")
                .isEqualTo(guest.diskPaths().size());
            long diskBytes = guest.diskPaths().stream().mapToLong(guest::diskSize).sum();
            assertThat(nbdBytesSent - before.nbdBytesSent).as("NBD bytes sent through the tunnel: the disks' %d",
                diskBytes).isGreaterThanOrEqualTo(diskBytes);
        }

        /**
         * The source forwarder's byte counters tell the same story as libvirt's {@code domjobinfo
         * --completed} (README "Under libvirt"): the {@code migration} streams carried "Memory
         * processed" and the {@code nbd} streams "File processed", each plus a little of its own
         * (device state and multifd headers; NBD request headers and re-mirrored guest writes).
         * virsh prints MiB to three decimals, hence the KiB of slack below.
         */
        void assertAgreesWith(Streams before, JobInfo completed) {
            assertAbout("migration", migrationBytesSent - before.migrationBytesSent, completed, "Memory processed");
            assertAbout("nbd", nbdBytesSent - before.nbdBytesSent, completed, "File processed");
        }

        private static void assertAbout(String stream, double carried, JobInfo completed, String field) {
            long processed = completed.bytes(field);
            assertThat(carried).as("bytes the '%s' streams carried, against domjobinfo's %s (%d)\n%s", stream, field,
                processed, completed.text()).isBetween(processed - 1024.0, processed * 1.05 + (1 << 20));
        }
    }
}
