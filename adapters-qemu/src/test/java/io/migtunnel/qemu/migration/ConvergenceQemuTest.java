package io.migtunnel.qemu.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.migtunnel.qemu.migration.ConvergenceOptions.TimeoutAction;
import io.migtunnel.qemu.migration.MigrationSummary.Convergence.Kind;
import io.migtunnel.qemu.vm.BusyGuest;
import io.migtunnel.qemu.vm.GuestCheck;
import io.migtunnel.qemu.vm.GuestStatus;
import io.migtunnel.qemu.vm.QemuVm;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real QEMU migrating the project's busy guest, which dirties 48 MiB of RAM as fast as TCG lets it
 * and writes both disks 100 times a second, through the tunnel at a RAM bandwidth far below the
 * dirty rate: plain precopy cannot converge, and every convergence option must get it across (or,
 * for {@code abort}, roll it back) with the guest's RAM and disk writes intact on the side that
 * owns the VM afterwards, checked by {@link GuestCheck}, and the guest running there.
 */
@Tag("qemu")
@Timeout(240)
class ConvergenceQemuTest {
    private static final long DISK = 32 * MigrationRig.MiB;
    private static final long BANDWIDTH = 24 * MigrationRig.MiB;
    private static final BusyGuest GUEST = BusyGuest.defaults().withRam(4L << 20, 48L << 20).withDirtyRate(0)
        .withDiskWrites(100);

    @TempDir
    Path dir;
    private MigrationRig rig;
    private final List<MigrationProgress> readings = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        MigrationRig.assumeQemu();
        rig = MigrationRig.busy(dir, DISK, GUEST);
        awaitGuestRunning(rig.source);
    }

    @AfterEach
    void stop() {
        if (rig != null) {
            rig.close();
        }
    }

    @Test
    void plainPrecopyTimesOutAndRollsBackWithTheGuestRunningOnItsOwnWrites() throws Exception {
        MigrationOptions options = options().withConvergence(ConvergenceOptions.defaults()
            .withTimeout(Duration.ofSeconds(6), TimeoutAction.ABORT));

        assertThatThrownBy(() -> rig.migration().options(options).observer(observer()).run().block(Duration.ofMinutes(3)))
            .isInstanceOf(MigrationException.class)
            .hasMessageContaining("precopy did not converge within 6 s")
            .satisfies(e -> assertThat(((MigrationException) e).step()).isEqualTo(MigrationStep.MIGRATE_RAM));

        assertThat(readings).as("it ran precopy passes before giving up")
            .anySatisfy(p -> assertThat(p.ram()).isNotNull().satisfies(r -> assertThat(r.passes()).isGreaterThanOrEqualTo(2)));
        assertThat(rig.source.status()).isEqualTo("running");
        awaitGuestProgress(rig.source);
        assertThat(rig.source.qmp().queryBlockJobs().block(Duration.ofSeconds(5))).isEmpty();
        assertThat(MigrationRig.nodeNames(rig.source.qmp().execute("query-named-block-nodes")
            .block(Duration.ofSeconds(5)))).noneMatch(n -> n.startsWith("migtunnel-"));
        checkGuest(rig.source, rig.sourceImages);
    }

    @Test
    void postcopyAfterPrecopyCompletesAndTheGuestGoesOnOnTheDestination() throws Exception {
        MigrationSummary summary = migrate(options().withConvergence(ConvergenceOptions.defaults()
            .withPostcopyAfterPrecopy(true)));

        assertThat(summary.convergence().kind()).isEqualTo(Kind.SWITCHED_TO_POSTCOPY);
        assertThat(summary.convergence().passes()).isGreaterThanOrEqualTo(2);
        assertThat(summary.postcopyBlocktimeMs()).as("the destination measured the blocktime").isGreaterThanOrEqualTo(0);
        assertMigrated(summary);
    }

    @Test
    void autoConvergeThrottlesTheGuestUntilPrecopyConverges() throws Exception {
        MigrationSummary summary = migrate(options().withConvergence(ConvergenceOptions.defaults()
            .withAutoConverge(60, 20).withDowntimeLimit(Duration.ofMillis(500))));

        assertThat(summary.convergence().kind()).isEqualTo(Kind.THROTTLED);
        assertThat(summary.convergence().throttlePercent()).isGreaterThanOrEqualTo(60);
        assertThat(summary.postcopyBlocktimeMs()).isEqualTo(-1);
        assertMigrated(summary);
    }

    @Test
    void timeoutPausePausesTheGuestSoThatPrecopyFinishesAndItRunsOnTheDestination() throws Exception {
        MigrationSummary summary = migrate(options().withConvergence(ConvergenceOptions.defaults()
            .withTimeout(Duration.ofSeconds(4), TimeoutAction.PAUSE)));

        assertThat(summary.convergence().kind()).isEqualTo(Kind.PAUSED);
        assertThat(summary.convergence().after()).isGreaterThanOrEqualTo(Duration.ofSeconds(4));
        assertThat(summary.downtimeMs()).as("the pause counts from the rule's stop").isGreaterThan(100);
        assertMigrated(summary);
    }

    @Test
    void multifdFourWithTimeoutPauseCarriesEveryDiskWrite() throws Exception {
        MigrationSummary summary = migrate(options().withMultifd(4).withConvergence(ConvergenceOptions.defaults()
            .withTimeout(Duration.ofSeconds(3), TimeoutAction.PAUSE)));

        assertThat(summary.convergence().kind()).isEqualTo(Kind.PAUSED);
        assertMigrated(summary);
    }

    @Test
    void timeoutPostcopySwitchesWhenPrecopyRunsTooLong() throws Exception {
        MigrationSummary summary = migrate(options().withConvergence(ConvergenceOptions.defaults()
            .withTimeout(Duration.ofSeconds(4), TimeoutAction.POSTCOPY)));

        assertThat(summary.convergence().kind()).isEqualTo(Kind.SWITCHED_TO_POSTCOPY);
        assertThat(summary.convergence().after()).isGreaterThanOrEqualTo(Duration.ofSeconds(4));
        assertMigrated(summary);
    }

    private static MigrationOptions options() {
        return MigrationOptions.defaults().withMaxBandwidth(BANDWIDTH).withTimeouts(Duration.ofSeconds(60),
            Duration.ofSeconds(90));
    }

    private MigrationSummary migrate(MigrationOptions options) {
        return rig.migration().options(options).observer(observer()).run().block(Duration.ofMinutes(3));
    }

    private MigrationObserver observer() {
        return new MigrationObserver() {
            @Override
            public void onProgress(MigrationProgress progress) {
                synchronized (readings) {
                    readings.add(progress);
                }
            }
        };
    }

    /** The destination runs the guest on, and both its RAM and its disks hold what the guest wrote, nothing lost. */
    private void assertMigrated(MigrationSummary summary) throws Exception {
        assertThat(summary.destinationStatus()).isEqualTo("running");
        GuestStatus atSwitchover = rig.source.guestStatus();
        awaitGuestProgress(rig.destination);
        GuestStatus later = rig.destination.guestStatus();
        assertThat(later.errors()).as("pages the guest found changed under it on the destination; serial:\n%s",
            rig.destination.serialLog()).isZero();
        assertThat(later.pagesDirtied()).as("the guest runs on from where it stopped on the source")
            .isGreaterThan(atSwitchover.pagesDirtied());
        for (int i = 0; i < later.lastWrites().size(); i++) {
            assertThat(later.lastWrites().get(i)).as("disk %d writes go on", i)
                .isGreaterThanOrEqualTo(atSwitchover.lastWrites().get(i));
        }
        checkGuest(rig.destination, rig.destinationImages);
    }

    /** Stops {@code vm}, checks the guest's RAM, quits it and checks both disks against the pristine images. */
    private void checkGuest(QemuVm vm, java.util.Map<String, Path> images) throws Exception {
        vm.qmp().execute("stop").block(Duration.ofSeconds(10));
        GuestStatus status = vm.guestStatus();
        GuestCheck.ram(vm, GUEST).orThrow();
        vm.quit();
        int i = 0;
        for (String id : images.keySet()) {
            GuestCheck.disk(images.get(id), rig.pristine.get(id), i, GUEST, status.lastWrites().get(i)).orThrow();
            i++;
        }
    }

    private static void awaitGuestRunning(QemuVm vm) throws Exception {
        vm.awaitGuest("the first sweep and a write to every disk", Duration.ofSeconds(30),
            s -> s.sweep() >= 2 && s.lastWrites().stream().allMatch(w -> w > 0));
    }

    /** Waits until the guest in {@code vm} has dirtied more pages and written every disk again. */
    private static void awaitGuestProgress(QemuVm vm) throws Exception {
        try {
            vm.awaitGuestProgress(Duration.ofSeconds(30));
        } catch (AssertionError | java.io.IOException e) {
            throw new AssertionError(e.getMessage() + "\nserial of " + vm.name() + ":\n" + vm.serialLog() + "\nlog:\n"
                + vm.log() + "\nquery-block: " + vm.qmp().queryBlock().block(Duration.ofSeconds(5)), e);
        }
    }
}
