package io.migtunnel.qemu.migration;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.migtunnel.mux.Session;
import io.migtunnel.qemu.vm.DiskImages;
import io.migtunnel.testing.Await;
import io.migtunnel.testing.Cmd;
import io.migtunnel.testing.RealBinaries;
import io.migtunnel.testing.TcpCuts;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.assertj.core.api.InstanceOfAssertFactories;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.Disposable;

/**
 * {@link SourceMigration} through a tunnel whose two ends keep their session for a while after
 * losing its connection ({@code SessionConfig.withResumeGrace}), with two real QEMUs: the tunnel's
 * TCP connection is reset from outside the JVM ({@code ss -K}, as a firewall or a router restart
 * would) while the disks are mirrored, while RAM goes over multifd channels, and once postcopy
 * runs the VM on the destination. The source resumes the same session and every stream goes on at
 * the byte it had reached: the migration completes with identical disks and RAM. A destination
 * that restarted knows no such session: the resume is refused and the migration rolls back.
 */
@Tag("qemu")
@Timeout(120)
class MigrationResumeQemuTest {
    private static final long SIZE = 32 * MigrationRig.MiB;
    /** The disks of the test that cuts the connection three times while they are mirrored. */
    private static final long MIRRORED = 128 * MigrationRig.MiB;
    /** Random bytes in guest RAM for the tests that cut while RAM goes over: more than the sockets buffer. */
    private static final long BIG_BLOB = 64 * MigrationRig.MiB;
    private static final Duration RUN = Duration.ofSeconds(90);
    /** How long a resume may take: the reconnect's first attempt comes after 100 ms (±20%). */
    private static final Duration RESUME = Duration.ofSeconds(15);
    private static final Pattern NOT_SENT = Pattern.compile("\\bnotsent:(\\d+)");
    @TempDir
    Path dir;
    private MigrationRig rig;

    private long began;

    @BeforeEach
    void qemu() {
        MigrationRig.assumeQemu();
        RealBinaries.require("ss");
        began = System.nanoTime();
    }

    @AfterEach
    void close(TestInfo test) {
        if (rig != null) {
            rig.close();
        }
        System.out.printf("%s took %d ms%n", test.getDisplayName(), Duration.ofNanos(System.nanoTime() - began).toMillis());
    }

    @Test
    @Timeout(100)
    void threeDisksSurviveThreeTcpResetsMidMirror() throws Exception {
        rig = MigrationRig.resumable(dir, MIRRORED, 3);
        for (String id : rig.sourceImages.keySet()) {
            assertThat(DiskImages.identical(rig.sourceImages.get(id), rig.destinationImages.get(id)))
                .as("the comparison can fail").isFalse();
        }
        Watch watch = new Watch();
        // 48 MiB/s per disk, about what this tunnel carries unthrottled on a small machine: the
        // mirrors take seconds wherever the test runs, and keep the connection busy meanwhile.
        CompletableFuture<MigrationSummary> run = start(rig.migration()
            .options(MigrationOptions.defaults().withMirrorBandwidth(48 * MigrationRig.MiB)), watch);
        Session session = null;
        for (int i = 1; i <= 3; i++) {
            double share = i / 4.0 - 0.05;
            MigrationProgress p = watch.await("the mirrors " + (int) (share * 100) + "% copied", run,
                r -> r.step() == MigrationStep.MIRROR && r.disks().size() == 3 && copiedShare(r) >= share);
            assertThat(p.disks()).as("no mirror has caught up at cut %d: %s", i, p).noneMatch(MigrationProgress.Disk::ready);
            if (session == null) {
                session = onlyDestinationSession();
            }
            cut(run, watch, session, i, MigrationRig.MiB);
            assertThat(watch.latest.get().step()).as("still mirroring after cut %d", i).isEqualTo(MigrationStep.MIRROR);
        }
        MigrationSummary summary = finish(run);

        assertThat(rig.destinationEvents.resumes()).as("resumes on the destination").isEqualTo(3);
        assertThat(rig.sourceEvents.resumes()).as("resumes on the source").isEqualTo(3);
        assertThat(rig.destinationEvents.disconnects()).as("connection losses the destination saw").isEqualTo(3);
        assertThat(rig.sourceEvents.disconnects()).as("connection losses the source saw").isEqualTo(3);
        assertThat(rig.destinationEvents.readySessions()).as("destination sessions ever made").containsExactly(session);
        assertThat(rig.sourceEvents.readySessions()).as("source sessions ever made").hasSize(1);
        assertThat(watch.steps()).as("no rollback").doesNotContain(MigrationStep.ROLL_BACK).contains(MigrationStep.DONE);
        assertThat(summary.destinationStatus()).isEqualTo("running");
        assertThat(summary.disks()).extracting(MigrationSummary.Disk::id).containsExactly("disk0", "disk1", "disk2");
        assertThat(summary.disks()).allSatisfy(d -> assertThat(d.bytes()).isGreaterThanOrEqualTo(MIRRORED - 64 * 1024));
        assertMigrated();
    }

    @Test
    @Timeout(100)
    void multifdWithFourChannelsSurvivesATcpResetDuringRam() throws Exception {
        rig = MigrationRig.resumable(dir, SIZE, 2, BIG_BLOB);
        Watch watch = new Watch();
        // Zero pages cost next to nothing: at 32 MiB/s the 64 MiB blob takes two seconds over the
        // multifd channels, more than the sockets buffer; the cut comes while they carry it.
        CompletableFuture<MigrationSummary> run = start(rig.migration().options(MigrationOptions.defaults()
            .withMultifd(4).withMaxBandwidth(32 * MigrationRig.MiB)), watch);
        MigrationProgress p = watch.await("RAM being migrated", run, r -> r.step() == MigrationStep.MIGRATE_RAM
            && r.ram() != null && r.ram().status().equals("active")
            && r.ram().transferred() >= 8 * MigrationRig.MiB && r.ram().remaining() >= 48 * MigrationRig.MiB);
        System.out.println("cutting at " + p);
        Session session = onlyDestinationSession();
        // control, two NBD, the main migration channel and four multifd channels
        assertThat(session.activeStreams()).as("streams across the cut (%s)", p).isGreaterThanOrEqualTo(8);
        cut(run, watch, session, 1, 256 * 1024);
        MigrationSummary summary = finish(run);

        assertThat(watch.statuses()).as("source MIGRATION events").containsSubsequence("active", "CUT while active", "completed")
            .doesNotContain("failed", "cancelled");
        assertThat(rig.destinationEvents.resumes()).isEqualTo(1);
        assertThat(rig.sourceEvents.resumes()).isEqualTo(1);
        assertThat(rig.destinationEvents.readySessions()).containsExactly(session);
        assertThat(summary.destinationStatus()).isEqualTo("running");
        assertThat(summary.ramBytes()).isGreaterThanOrEqualTo(BIG_BLOB);
        assertMigrated();
    }

    @Test
    @Timeout(100)
    void postcopySurvivesATcpResetAfterTheSwitchOver() throws Exception {
        rig = MigrationRig.resumable(dir, SIZE, 2, BIG_BLOB);
        // Past the switch-over max-postcopy-bandwidth applies (not set by the migration): 32 MiB/s
        // keeps postcopy running for about two seconds with the 64 MiB blob, the time to see it and cut.
        rig.source.qmp().execute("migrate-set-parameters", Map.of("max-postcopy-bandwidth", 32 * MigrationRig.MiB))
            .block(Duration.ofSeconds(5));
        Watch watch = new Watch();
        // 32 MiB/s before the switch, as in SourceMigrationQemuTest.postcopy: else it completes as precopy.
        CompletableFuture<MigrationSummary> run = start(rig.migration().options(MigrationOptions.defaults()
            .withPostcopy(true).withMaxBandwidth(32 * MigrationRig.MiB)), watch);
        MigrationProgress p = watch.await("postcopy running", run, r -> r.step() == MigrationStep.SWITCH_OVER
            && r.ram() != null && r.ram().status().equals("postcopy-active"));
        System.out.println("cutting at " + p);
        Session session = onlyDestinationSession();
        // The source reports postcopy-active a moment before the destination runs the VM.
        Await.until("the destination VM running (" + p + ")", Duration.ofSeconds(10),
            () -> rig.destination.status().equals("running"));
        cut(run, watch, session, 1, 256 * 1024);
        MigrationSummary summary = finish(run);

        assertThat(watch.statuses()).as("source MIGRATION events: the cut came while postcopy ran")
            .containsSubsequence("postcopy-active", "CUT while postcopy-active", "completed")
            .doesNotContain("failed", "postcopy-paused");
        assertThat(rig.destinationEvents.resumes()).isEqualTo(1);
        assertThat(rig.sourceEvents.resumes()).isEqualTo(1);
        assertThat(rig.destinationEvents.readySessions()).containsExactly(session);
        assertThat(summary.destinationStatus()).isEqualTo("running");
        assertMigrated();
    }

    @Test
    @Timeout(100)
    void aDestinationThatRestartedMidMirrorRefusesTheResumeAndTheMigrationRollsBack() throws Exception {
        rig = MigrationRig.resumable(dir, SIZE, 2);
        Watch watch = new Watch();
        CompletableFuture<MigrationSummary> run = start(rig.migration()
            .options(MigrationOptions.defaults().withMirrorBandwidth(4 * MigrationRig.MiB)), watch);
        watch.await("mid-mirror", run, r -> r.step() == MigrationStep.MIRROR
            && r.disks().stream().anyMatch(d -> d.copied() > 0)
            && r.disks().stream().noneMatch(MigrationProgress.Disk::ready));
        onlyDestinationSession();
        long restartedAt = System.nanoTime();
        rig.restartDestination();

        MigrationException e = failure(run);
        Duration failedAfter = Duration.ofNanos(System.nanoTime() - restartedAt);
        System.out.printf("failed %d ms after the restart: %s%n", failedAfter.toMillis(), e.getMessage());
        assertThat(e.step()).isEqualTo(MigrationStep.MIRROR);
        assertThat(e.getMessage()).as("names the refusal").contains("refused to resume the session")
            .contains("no such session");
        assertThat(e.rollbackProblems()).as("nothing on the source was left undone").isEmpty();
        assertThat(failedAfter).as("refused at once, not at the end of the grace period")
            .isLessThan(MigrationRig.RESUME_GRACE.dividedBy(2));
        assertThat(rig.destinationEvents.log()).as("destination session events")
            .anySatisfy(l -> assertThat(l).startsWith("resume refused: ").contains("no such session"));
        assertThat(rig.sourceEvents.disconnects()).as("the source saw its connection lost, and tried to resume").isOne();
        assertThat(rig.sourceEvents.resumes()).isZero();
        assertThat(rig.sourceEvents.log()).as("source session events").last(InstanceOfAssertFactories.STRING)
            .startsWith("closed ").contains("no such session");
        assertThat(rig.tunnel.sessions()).as("sessions of the new destination tunnel").isEmpty();
        assertThat(rig.destination.status()).isEqualTo("inmigrate");
        // The old destination tunnel's session ended: its migration undid the NBD exports.
        Await.until("exports removed on the destination", Duration.ofSeconds(10),
            () -> rig.destination.qmp().execute("query-block-exports").block(Duration.ofSeconds(5)), JsonNode::isEmpty);
        assertUntouched();
    }

    // ---- helpers ----

    /** Watches the migration's steps and progress, and the source QEMU's MIGRATION events. */
    private final class Watch implements MigrationObserver {
        private final AtomicReference<MigrationProgress> latest = new AtomicReference<>();
        private final List<MigrationStep> steps = Collections.synchronizedList(new ArrayList<>());
        /** QEMU's migration statuses, with "CUT while STATUS" where the test cut the connection. */
        private final List<String> statuses = Collections.synchronizedList(new ArrayList<>());
        private final Disposable events = rig.source.qmp().events().filter(e -> e.name().equals("MIGRATION"))
            .subscribe(e -> statuses.add(e.data().path("status").asText()));

        @Override
        public void onStep(MigrationStep step) {
            steps.add(step);
        }

        @Override
        public void onProgress(MigrationProgress progress) {
            latest.set(progress);
        }

        List<MigrationStep> steps() {
            synchronized (steps) {
                return List.copyOf(steps);
            }
        }

        List<String> statuses() {
            events.dispose();
            synchronized (statuses) {
                return List.copyOf(statuses);
            }
        }

        void mark(String what) {
            statuses.add(what);
        }

        /** Waits until a progress reading matches {@code condition}; fails at once if the migration ends first. */
        MigrationProgress await(String what, CompletableFuture<MigrationSummary> run, Predicate<MigrationProgress> condition)
            throws Exception {
            return Await.until(what, RUN, () -> {
                if (run.isDone()) {
                    throw new AssertionError("the migration ended before " + what + ": " + outcome(run)
                        + "\nlast progress: " + latest.get() + "\n" + rig.diagnostics());
                }
                return latest.get();
            }, p -> p != null && condition.test(p));
        }
    }

    private CompletableFuture<MigrationSummary> start(SourceMigration m, Watch watch) {
        return m.observer(watch).run().toFuture();
    }

    /** Bytes the mirrors copied over all disks, as a share of their total. */
    private static double copiedShare(MigrationProgress p) {
        long copied = p.disks().stream().mapToLong(MigrationProgress.Disk::copied).sum();
        long total = p.disks().stream().mapToLong(MigrationProgress.Disk::total).sum();
        return total == 0 ? 0 : (double) copied / total;
    }

    /** The destination's one session, connected. */
    private Session onlyDestinationSession() {
        List<Session> sessions = rig.tunnel.sessions();
        assertThat(sessions).as("destination sessions").hasSize(1);
        assertThat(sessions.get(0).isConnected()).isTrue();
        return sessions.get(0);
    }

    /**
     * Resets the tunnel's TCP connection from outside the JVM, as a firewall or a router restart
     * would ({@code ss -K}, as {@link TcpCuts}, on the source's socket: the kernel resets the
     * destination's), and waits until both ends report cut {@code n} resumed and {@code session},
     * still the destination's only one, is connected again.
     *
     * <p>So that the reset loses DATA, the destination's event loop is held (as by a long GC pause)
     * until the source's socket holds at least {@code loss} bytes it cannot send (ss {@code notsent},
     * the same or more on two readings: the destination's receive window is full). What the
     * source's socket has not sent when it is destroyed (as ss reports it) dies with it, as does
     * what the source queued beyond it; what the destination's socket has received stays readable
     * after the reset. The resume must send at least that much DATA again, frame headers aside.
     */
    private void cut(CompletableFuture<MigrationSummary> run, Watch watch, Session session, int n, long loss)
        throws Exception {
        assertThat(rig.tunnel.sessions()).as("destination sessions before cut %d", n).singleElement().isSameAs(session);
        assertThat(rig.destinationEvents.resumes()).as("resumes before cut %d", n).isEqualTo(n - 1);
        String[] sourceSocket = {"-t", "-n", "-H", "-i", "state", "established",
            "(", "dport", "=", ":" + rig.tunnel.address().getPort(), ")"};
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        session.loop().execute(() -> {
            held.countDown();
            try {
                release.await(15, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        long lost;
        String killed;
        long cutAt;
        try {
            assertThat(held.await(5, TimeUnit.SECONDS)).as("the destination's event loop held").isTrue();
            long[] readings = {-1, -1};
            // Up to 5 s for the unsent bytes to pile up; on a loaded machine they may not reach
            // {@code loss}, and the cut then tests with what is there (the check below uses it).
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (System.nanoTime() < deadline && !(readings[0] >= loss && readings[1] >= readings[0])) {
                if (run.isDone()) {
                    throw new AssertionError("the migration ended before cut " + n + ": " + outcome(run));
                }
                readings[0] = readings[1];
                readings[1] = notSent(ss(sourceSocket));
            }
            cutAt = System.nanoTime();
            killed = ss(concat("-K", sourceSocket));
            lost = Math.min(readings[1], notSent(killed));
        } finally {
            release.countDown();
        }
        // Asked after the reset: the migration's status at the cut, or later.
        watch.mark("CUT while " + rig.source.qmp().queryMigrate().block(Duration.ofSeconds(5)).path("status").asText());
        assertThat(killed.lines().filter(l -> !l.isBlank() && !Character.isWhitespace(l.charAt(0))))
            .as("the source's end of the tunnel reset by cut %d: %s", n, killed).hasSize(1);
        Await.until("cut " + n + " resumed", RESUME, () -> {
            if (run.isDone()) {
                throw new AssertionError("the migration ended before cut " + n + " was resumed: " + outcome(run)
                    + "\nsource: " + rig.sourceEvents.log() + "\ndestination: " + rig.destinationEvents.log()
                    + "\n" + rig.diagnostics());
            }
            return rig.destinationEvents.resumes() >= n && rig.sourceEvents.resumes() >= n && session.isConnected();
        });
        long resent = rig.sourceEvents.retransmittedAt(n);
        System.out.printf("cut %d resumed in %d ms: %d bytes the source's socket could not send lost, %d sent again "
            + "by the source, %d by the destination%n", n, Duration.ofNanos(System.nanoTime() - cutAt).toMillis(), lost,
            resent, rig.destinationEvents.retransmittedAt(n));
        assertThat(rig.tunnel.sessions()).as("destination sessions after cut %d", n).singleElement().isSameAs(session);
        // Frame headers (12 bytes per DATA frame, most carry 200 KiB) and a few control frames aside;
        // the margin also covers what the kernel may still have sent between ss's reading and the reset.
        assertThat(resent).as("DATA the source sent again after cut %d, which destroyed %d bytes it had not sent",
            n, lost).isGreaterThanOrEqualTo(lost - lost / 8 - 64 * 1024);
    }

    /** Runs ss with {@code args}; its output. */
    private static String ss(String... args) throws Exception {
        return Cmd.check(Duration.ofSeconds(30), concat("ss", args)).stdout();
    }

    private static String[] concat(String first, String... rest) {
        String[] all = new String[rest.length + 1];
        all[0] = first;
        System.arraycopy(rest, 0, all, 1, rest.length);
        return all;
    }

    /** The {@code notsent} of the one socket in ss output: bytes written to it that it has not sent. */
    private static long notSent(String ss) {
        Matcher m = NOT_SENT.matcher(ss);
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }

    private MigrationSummary finish(CompletableFuture<MigrationSummary> run) throws Exception {
        try {
            return run.get(RUN.toSeconds(), TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new AssertionError("the migration failed: " + e.getCause().getMessage() + "\nsource: "
                + rig.sourceEvents.log() + "\ndestination: " + rig.destinationEvents.log() + "\n" + rig.diagnostics(),
                e.getCause());
        }
    }

    private MigrationException failure(CompletableFuture<MigrationSummary> run) throws Exception {
        try {
            MigrationSummary s = run.get(RUN.toSeconds(), TimeUnit.SECONDS);
            throw new AssertionError("the migration succeeded: " + s + "\n" + rig.diagnostics());
        } catch (ExecutionException e) {
            assertThat(e.getCause()).as("the failure").isInstanceOf(MigrationException.class);
            return (MigrationException) e.getCause();
        }
    }

    private static String outcome(CompletableFuture<MigrationSummary> run) {
        try {
            return "completed: " + run.getNow(null);
        } catch (RuntimeException e) {
            return "failed: " + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage());
        }
    }

    /**
     * The destination runs the VM with the source's RAM, the source is done with it (no block job or
     * node of ours), and once both quit the destination disks are the source's, which are as before.
     */
    private void assertMigrated() throws Exception {
        assertThat(rig.destination.status()).isEqualTo("running");
        assertThat(rig.source.status()).isEqualTo("postmigrate");
        assertThat(rig.source.qmp().queryBlockJobs().block(Duration.ofSeconds(5))).isEmpty();
        assertThat(MigrationRig.nodeNames(rig.source.qmp().execute("query-named-block-nodes").block(Duration.ofSeconds(5))))
            .noneMatch(n -> n.startsWith("migtunnel-"));
        assertThat(rig.destination.qmp().execute("query-block-exports").block(Duration.ofSeconds(5)))
            .as("NBD exports left on the destination").isEmpty();
        assertThat(rig.ramDigest(rig.destination)).as("guest RAM on the destination").isEqualTo(DiskImages.sha256(rig.blob));
        rig.destination.quit();
        rig.source.quit();
        for (String id : rig.sourceImages.keySet()) {
            assertThat(DiskImages.identical(rig.sourceImages.get(id), rig.destinationImages.get(id)))
                .as("disk %s identical after migration", id).isTrue();
            assertThat(DiskImages.identical(rig.sourceImages.get(id), rig.pristine.get(id)))
                .as("source disk %s as before", id).isTrue();
        }
    }

    private void assertUntouched() throws Exception {
        rig.assertSourceUntouched();
    }
}
