package io.migtunnel.qemu.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import io.migtunnel.qemu.vm.DiskImages;
import io.migtunnel.testing.Await;
import io.migtunnel.testing.RealBinaries;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Sinks;

/**
 * {@link SourceMigration} against {@link IncomingMigrations} with two real QEMUs, each with two
 * qcow2 disks: the three migration modes end with the destination running the same RAM and disks;
 * refusals and failures leave the source running on untouched disks with no block jobs left.
 */
@Tag("qemu")
@Timeout(180)
class SourceMigrationQemuTest {
    private static final long SIZE = 32 * MigrationRig.MiB;
    private static final Duration RUN = Duration.ofSeconds(150);
    @TempDir
    Path dir;
    private MigrationRig rig;

    @BeforeEach
    void qemu() {
        MigrationRig.assumeQemu();
    }

    @AfterEach
    void close() {
        if (rig != null) {
            rig.close();
        }
    }

    @Test
    void precopy() throws Exception {
        migrates(MigrationOptions.defaults());
    }

    @Test
    void multifdWithFourChannels() throws Exception {
        migrates(MigrationOptions.defaults().withMultifd(4));
    }

    @Test
    void postcopy() throws Exception {
        // Unthrottled, this small VM's RAM can converge before the switch to postcopy lands, and QEMU
        // then completes as precopy. 32 MiB/s keeps the precopy phase long enough; after the switch
        // max-postcopy-bandwidth (unlimited) applies.
        migrates(MigrationOptions.defaults().withPostcopy(true).withMaxBandwidth(32 * MigrationRig.MiB));
    }

    private void migrates(MigrationOptions options) throws Exception {
        rig = new MigrationRig(dir, SIZE, MigrationRig.disks(SIZE, SIZE));
        for (String id : rig.sourceImages.keySet()) {
            assertThat(DiskImages.identical(rig.sourceImages.get(id), rig.destinationImages.get(id)))
                .as("the comparison can fail").isFalse();
        }
        List<String> statuses = java.util.Collections.synchronizedList(new ArrayList<>());
        var watch = rig.source.qmp().events().filter(e -> e.name().equals("MIGRATION"))
            .subscribe(e -> statuses.add(e.data().path("status").asText()));
        List<MigrationStep> steps = new ArrayList<>();
        List<MigrationProgress> progress = new ArrayList<>();
        MigrationSummary summary;
        try {
            summary = rig.migration().options(options).observer(new MigrationObserver() {
                @Override
                public void onStep(MigrationStep step) {
                    steps.add(step);
                }

                @Override
                public void onProgress(MigrationProgress p) {
                    progress.add(p);
                }
            }).run().block(RUN);
        } catch (RuntimeException e) {
            throw new AssertionError(e.getMessage() + "\n" + rig.diagnostics(), e);
        }

        watch.dispose();
        assertThat(statuses).as("source MIGRATION events").contains("pre-switchover").endsWith("completed");
        if (options.postcopy()) {
            assertThat(statuses).contains("postcopy-active");
        } else {
            assertThat(statuses).doesNotContain("postcopy-active");
        }
        assertThat(summary.destinationStatus()).isEqualTo("running");
        assertThat(summary.disks()).extracting(MigrationSummary.Disk::id).containsExactly("disk0", "disk1");
        assertThat(summary.disks()).allSatisfy(d -> assertThat(d.bytes()).isGreaterThanOrEqualTo(SIZE - 64 * 1024));
        assertThat(summary.ramBytes()).isGreaterThanOrEqualTo(MigrationRig.BLOB_SIZE);
        assertThat(rig.destination.status()).isEqualTo("running");
        assertThat(rig.source.status()).isEqualTo("postmigrate");
        assertThat(rig.source.qmp().queryBlockJobs().block(Duration.ofSeconds(5))).isEmpty();
        assertThat(MigrationRig.nodeNames(rig.source.qmp().execute("query-named-block-nodes").block(Duration.ofSeconds(5))))
            .noneMatch(n -> n.startsWith("migtunnel-"));
        assertThat(rig.destination.qmp().execute("query-block-exports").block(Duration.ofSeconds(5)))
            .as("NBD exports left on the destination").isEmpty();
        assertThat(steps).contains(MigrationStep.MIRROR, MigrationStep.SWITCH_OVER, MigrationStep.FINISH);
        assertThat(progress).anySatisfy(p -> assertThat(p.ram()).isNotNull());
        String blob = DiskImages.sha256(rig.blob);
        assertThat(rig.ramDigest(rig.destination)).as("guest RAM on the destination").isEqualTo(blob);

        rig.destination.quit();
        rig.source.quit();
        for (String id : rig.sourceImages.keySet()) {
            assertThat(DiskImages.identical(rig.sourceImages.get(id), rig.destinationImages.get(id)))
                .as("disk %s identical after migration", id).isTrue();
        }
    }

    @Test
    void withoutBlockdevMirrorDriveMirrorCarriesTheDisks() throws Exception {
        rig = new MigrationRig(dir, SIZE, MigrationRig.disks(SIZE, SIZE));
        Path proxied = dir.resolve("old-qemu.qmp");
        List<String> mirrorEvents = java.util.Collections.synchronizedList(new ArrayList<>());
        var watch = rig.source.qmp().events().filter(e -> e.name().equals("BLOCK_JOB_READY"))
            .subscribe(e -> mirrorEvents.add(e.data().path("device").asText()));
        try (QmpCommandHidingProxy proxy = new QmpCommandHidingProxy(proxied, rig.source.qmpSocket(),
                java.util.Set.of("blockdev-mirror"))) {
            MigrationSummary s = SourceMigration.create(proxied, io.migtunnel.transport.TunnelSource.create()
                    .connect(new java.net.InetSocketAddress("127.0.0.1", rig.tunnel.address().getPort())))
                .run().block(RUN);
            assertThat(s.destinationStatus()).isEqualTo("running");
            assertThat(proxy.executed()).contains("drive-mirror").doesNotContain("blockdev-mirror", "blockdev-add");
        } finally {
            watch.dispose();
        }
        assertThat(mirrorEvents).containsExactlyInAnyOrder("migtunnel-mirror-0", "migtunnel-mirror-1");
        rig.destination.quit();
        rig.source.quit();
        for (String id : rig.sourceImages.keySet()) {
            assertThat(DiskImages.identical(rig.sourceImages.get(id), rig.destinationImages.get(id))).as(id).isTrue();
        }
    }

    @Test
    void withoutBlockExportAddTheDestinationUsesNbdServerAdd() throws Exception {
        QmpCommandHidingProxy[] proxy = new QmpCommandHidingProxy[1];
        rig = new MigrationRig(dir, SIZE, MigrationRig.disks(SIZE, SIZE), vm -> {
            try {
                proxy[0] = new QmpCommandHidingProxy(dir.resolve("old-dst.qmp"), vm.qmpSocket(),
                    java.util.Set.of("block-export-add"));
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return QmpLocator.single(dir.resolve("old-dst.qmp"));
        });
        try (QmpCommandHidingProxy p = proxy[0]) {
            assertThat(rig.migration().run().block(RUN).destinationStatus()).isEqualTo("running");
            assertThat(p.executed()).contains("nbd-server-add").doesNotContain("block-export-add");
        }
        rig.destination.quit();
        rig.source.quit();
        for (String id : rig.sourceImages.keySet()) {
            assertThat(DiskImages.identical(rig.sourceImages.get(id), rig.destinationImages.get(id))).as(id).isTrue();
        }
    }

    @Test
    void aDestinationStartedWithDashSRunsTheVmAfterwards() throws Exception {
        rig = new MigrationRig(dir, SIZE, MigrationRig.disks(SIZE, SIZE), vm -> QmpLocator.single(vm.qmpSocket()), true);
        assertThat(rig.migration().run().block(RUN).destinationStatus()).isEqualTo("running");
        assertThat(rig.destination.status()).isEqualTo("running");
    }

    @Test
    void aPausedSourceVmArrivesPaused() throws Exception {
        rig = new MigrationRig(dir, SIZE, MigrationRig.disks(SIZE, SIZE)); // no -S: QEMU itself keeps it paused
        rig.source.qmp().execute("stop").block(Duration.ofSeconds(5));
        assertThat(rig.migration().run().block(RUN).destinationStatus()).isEqualTo("paused");
        assertThat(rig.destination.status()).isEqualTo("paused");
        assertThat(rig.source.status()).isEqualTo("postmigrate");
    }

    @Test
    void aHostDaemonFindsTheVmByNameAndRefusesAnUnknownOne() throws Exception {
        rig = new MigrationRig(dir, SIZE, MigrationRig.disks(SIZE, SIZE), vm -> QmpLocator.directory(dir)); // VM "dst"
        MigrationException e = failure(rig.migration().options(MigrationOptions.defaults().withVm("nosuchvm")));
        assertThat(e.reason()).isEqualTo("destination: no VM 'nosuchvm' on the destination: "
            + dir.resolve("nosuchvm.qmp") + " does not exist");
        assertThat(rig.source.status()).isEqualTo("running");
        MigrationSummary s = rig.migration().options(MigrationOptions.defaults().withVm("dst")).run().block(RUN);
        assertThat(s.vm()).isEqualTo("dst");
        assertThat(rig.destination.status()).isEqualTo("running");
    }

    @Test
    void aDiskOfAnotherSizeIsRefusedBeforeAnythingIsCopied() throws Exception {
        rig = new MigrationRig(dir, SIZE, MigrationRig.disks(SIZE, SIZE + MigrationRig.MiB));
        MigrationException e = failure(rig.migration());
        assertThat(e.step()).isEqualTo(MigrationStep.PREPARE);
        assertThat(e.reason()).contains("disk 'disk1' is " + (SIZE + MigrationRig.MiB) + " bytes on the destination but "
            + SIZE + " on the source");
        assertThat(e.rollbackProblems()).isEmpty();
        assertUntouched();
    }

    @Test
    void aMissingDiskIsRefusedBeforeAnythingIsCopied() throws Exception {
        rig = new MigrationRig(dir, SIZE, Map.of("disk0", SIZE));
        MigrationException e = failure(rig.migration());
        assertThat(e.reason()).contains("disk 'disk1' does not exist (the destination has: disk0)");
        assertUntouched();
    }

    @Test
    void destinationKilledMidMirrorRollsBackWithinSeconds() throws Exception {
        rig = new MigrationRig(dir, SIZE, MigrationRig.disks(SIZE, SIZE));
        AtomicLong killedAt = new AtomicLong();
        AtomicBoolean killed = new AtomicBoolean();
        SourceMigration m = slowMirrors().observer(midMirror(killed, () -> {
            killedAt.set(System.nanoTime());
            new Thread(rig.destination::kill).start();
        }));
        MigrationException e = failure(m);
        assertThat(killed).as("killed mid-mirror").isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - killedAt.get())).isLessThan(Duration.ofSeconds(20));
        assertThat(e.step()).isEqualTo(MigrationStep.MIRROR);
        assertUntouched();
    }

    @Test
    void theTunnelDroppingMidMirrorRollsBackBothSides() throws Exception {
        rig = new MigrationRig(dir, SIZE, MigrationRig.disks(SIZE, SIZE));
        AtomicBoolean dropped = new AtomicBoolean();
        MigrationException e = failure(slowMirrors().observer(midMirror(dropped, rig.tunnel::dispose)));
        assertThat(dropped).isTrue();
        assertThat(e.step()).isEqualTo(MigrationStep.MIRROR);
        assertThat(rig.destination.status()).isEqualTo("inmigrate");
        assertThat(e.rollbackProblems()).as("nothing on the source was left undone").isEmpty();
        // The destination undoes prepare on its own once the session is gone.
        Await.until("exports removed after the session ended", Duration.ofSeconds(10),
            () -> rig.destination.qmp().execute("query-block-exports").block(Duration.ofSeconds(5)), JsonNode::isEmpty);
        assertUntouched();
    }

    @Test
    void aTcpResetMidMirrorRollsBackAndSaysTheSourceIsWhole() throws Exception {
        RealBinaries.require("ss");
        rig = new MigrationRig(dir, SIZE, MigrationRig.disks(SIZE, SIZE));
        AtomicBoolean cut = new AtomicBoolean();
        int port = rig.tunnel.address().getPort();
        // As a firewall or a router restart would: RST to both ends, from outside the JVM.
        MigrationException e = failure(slowMirrors().observer(midMirror(cut,
            () -> run("ss", "-K", "(", "sport", "=", ":" + port, "or", "dport", "=", ":" + port, ")"))));
        assertThat(cut).isTrue();
        assertThat(e.step()).isEqualTo(MigrationStep.MIRROR);
        assertThat(e.rollbackProblems()).as("nothing on the source was left undone").isEmpty();
        assertThat(e.getMessage()).doesNotContain("rollback:");
        assertUntouched();
    }

    @Test
    void anAbortMidMirrorRollsBackBothSides() throws Exception {
        rig = new MigrationRig(dir, SIZE, MigrationRig.disks(SIZE, SIZE));
        Sinks.One<String> abort = Sinks.one();
        MigrationException e = failure(slowMirrors().abortOn(abort.asMono())
            .observer(midMirror(new AtomicBoolean(), () -> abort.tryEmitValue("operator pressed Ctrl-C"))));
        assertThat(e.reason()).isEqualTo("aborted: operator pressed Ctrl-C");
        assertThat(e.rollbackProblems()).isEmpty();
        assertThat(rig.destination.status()).as("destination still waiting, not running").isEqualTo("inmigrate");
        assertThat(rig.destination.qmp().execute("query-block-exports").block(Duration.ofSeconds(5)))
            .as("NBD exports left on the destination").isEmpty();
        assertUntouched();
    }

    @Test
    void aDestinationThatStopsReadingWhileTheVmIsPausedRollsBackWithinTheSwitchoverTimeout() throws Exception {
        RealBinaries.require("qemu-io");
        rig = new MigrationRig(dir, SIZE, MigrationRig.disks(SIZE, SIZE));
        Duration bound = Duration.ofSeconds(5);
        AtomicLong pausedAt = new AtomicLong();
        AtomicReference<String> hmpReply = new AtomicReference<>();
        String write = "write -P 0x5a 0 24M";
        MigrationObserver stopTheDestination = new MigrationObserver() {
            @Override
            public void onStep(MigrationStep step) {
                if (step == MigrationStep.COMPLETE_MIRRORS) {
                    pausedAt.set(System.nanoTime());
                    // The destination QEMU stops reading NBD; the tunnel (in this JVM) stays alive.
                    signal("STOP", rig.destination.pid());
                    // 24 MiB for the mirror to copy before it can complete: more than the tunnel buffers.
                    // Through the guest's device, whose block backend the mirror's filter now serves.
                    hmpReply.set(String.valueOf(rig.source.qmp().execute("human-monitor-command",
                        Map.of("command-line", "qemu-io -d vblk-disk0/virtio-backend \"" + write + "\"")).block(Duration.ofSeconds(30))));
                }
            }
        };
        MigrationException e;
        try {
            e = catchThrowableOfType(MigrationException.class, () -> rig.migration()
                .options(MigrationOptions.defaults().withSwitchoverTimeout(bound)).observer(stopTheDestination)
                .run().block(Duration.ofSeconds(90)));
        } finally {
            signal("CONT", rig.destination.pid());
        }
        assertThat(e).as("the migration fails\n%s", rig.diagnostics()).isNotNull();
        assertThat(hmpReply.get()).as("qemu-io's reply (empty when the write succeeded)").isIn("\"\"", "");
        Duration paused = Duration.ofNanos(System.nanoTime() - pausedAt.get());
        assertThat(e.step()).isEqualTo(MigrationStep.COMPLETE_MIRRORS);
        assertThat(e.reason()).contains("within " + bound);
        assertThat(paused).as("failed and rolled back within the bound and the rollback's own")
            .isLessThan(bound.plusSeconds(20));
        assertThat(rig.source.status()).isEqualTo("running");
        assertThat(rig.source.qmp().queryBlockJobs().block(Duration.ofSeconds(5))).isEmpty();
        assertThat(MigrationRig.nodeNames(rig.source.qmp().execute("query-named-block-nodes").block(Duration.ofSeconds(5))))
            .noneMatch(n -> n.startsWith("migtunnel-"));
        rig.source.quit();
        // disk0 holds exactly the pristine image plus the test's own write; disk1 is as before.
        Path expected = Files.copy(rig.pristine.get("disk0"), dir.resolve("expected-disk0.qcow2"));
        run("qemu-io", "-f", "qcow2", "-c", write, expected.toString());
        assertThat(DiskImages.identical(rig.sourceImages.get("disk0"), expected)).as("disk0 = pristine + write").isTrue();
        assertThat(DiskImages.identical(rig.sourceImages.get("disk1"), rig.pristine.get("disk1"))).isTrue();
    }

    private static void signal(String name, long pid) {
        run("kill", "-" + name, Long.toString(pid));
    }

    /** Runs {@code command} to success within 30 s. */
    private static void run(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
            assertThat(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).as("%s ends", List.of(command)).isTrue();
            assertThat(p.exitValue()).as("%s exit code", List.of(command)).isZero();
        } catch (java.io.IOException | InterruptedException ex) {
            throw new AssertionError(List.of(command).toString(), ex);
        }
    }

    /** Mirrors at 4 MiB/s, so that "mid-mirror" lasts seconds. */
    private SourceMigration slowMirrors() {
        return rig.migration().options(MigrationOptions.defaults().withMirrorBandwidth(4 * MigrationRig.MiB));
    }

    /** Runs {@code action} once, when a mirror has copied something and is not in sync yet; sets {@code fired}. */
    private static MigrationObserver midMirror(AtomicBoolean fired, Runnable action) {
        return new MigrationObserver() {
            @Override
            public void onProgress(MigrationProgress p) {
                if (p.disks().stream().anyMatch(d -> d.copied() > 0 && !d.ready()) && fired.compareAndSet(false, true)) {
                    action.run();
                }
            }
        };
    }

    private MigrationException failure(SourceMigration m) {
        MigrationException e = catchThrowableOfType(MigrationException.class, () -> m.run().block(RUN));
        assertThat(e).as("the migration fails\n%s", rig.diagnostics()).isNotNull();
        return e;
    }

    private void assertUntouched() throws Exception {
        rig.assertSourceUntouched();
    }
}
