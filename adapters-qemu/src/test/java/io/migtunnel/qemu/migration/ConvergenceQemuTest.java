package io.migtunnel.qemu.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.migtunnel.qemu.migration.ConvergenceOptions.TimeoutAction;
import io.migtunnel.qemu.migration.MigrationSummary.Convergence.Kind;
import io.migtunnel.qemu.vm.BusyGuest;
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
 * owns the VM afterwards, checked by {@link BusyGuestChecks}, and the guest running there.
 */
@Tag("qemu")
@Timeout(240)
class ConvergenceQemuTest {
    static final long DISK = 32 * MigrationRig.MiB;
    static final long BANDWIDTH = 24 * MigrationRig.MiB;
    static final BusyGuest GUEST = BusyGuest.defaults().withRam(4L << 20, 48L << 20).withDirtyRate(0)
        .withDiskWrites(100);

    @TempDir
    Path dir;
    private MigrationRig rig;
    private BusyGuestChecks checks;
    private final List<MigrationProgress> readings = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        MigrationRig.assumeQemu();
        rig = MigrationRig.busy(dir, DISK, GUEST);
        checks = new BusyGuestChecks(rig, GUEST);
        BusyGuestChecks.awaitRunning(rig.source);
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
        BusyGuestChecks.awaitProgress(rig.source);
        assertThat(rig.source.qmp().queryBlockJobs().block(Duration.ofSeconds(5))).isEmpty();
        assertThat(MigrationRig.nodeNames(rig.source.qmp().execute("query-named-block-nodes")
            .block(Duration.ofSeconds(5)))).noneMatch(n -> n.startsWith("migtunnel-"));
        checks.check(rig.source, rig.sourceImages);
    }

    @Test
    void postcopyAfterPrecopyCompletesAndTheGuestGoesOnOnTheDestination() throws Exception {
        MigrationSummary summary = migrate(options().withConvergence(ConvergenceOptions.defaults()
            .withPostcopyAfterPrecopy(true)));

        assertThat(summary.convergence().kind()).isEqualTo(Kind.SWITCHED_TO_POSTCOPY);
        assertThat(summary.convergence().passes()).isGreaterThanOrEqualTo(2);
        assertThat(summary.postcopyBlocktimeMs()).as("the destination measured the blocktime").isGreaterThanOrEqualTo(0);
        System.out.println("postcopy after precopy: blocktime " + summary.postcopyBlocktimeMs() + " ms, "
            + summary.convergence().describe());
        checks.assertMigrated(summary);
    }

    @Test
    void autoConvergeThrottlesTheGuestUntilPrecopyConverges() throws Exception {
        MigrationSummary summary = migrate(options().withConvergence(ConvergenceOptions.defaults()
            .withAutoConverge(60, 20).withDowntimeLimit(Duration.ofMillis(500))));

        assertThat(summary.convergence().kind()).isEqualTo(Kind.THROTTLED);
        assertThat(summary.convergence().throttlePercent()).isGreaterThanOrEqualTo(60);
        assertThat(summary.postcopyBlocktimeMs()).isEqualTo(-1);
        checks.assertMigrated(summary);
    }

    @Test
    void timeoutPausePausesTheGuestSoThatPrecopyFinishesAndItRunsOnTheDestination() throws Exception {
        MigrationSummary summary = migrate(options().withConvergence(ConvergenceOptions.defaults()
            .withTimeout(Duration.ofSeconds(4), TimeoutAction.PAUSE)));

        assertThat(summary.convergence().kind()).isEqualTo(Kind.PAUSED);
        assertThat(summary.convergence().after()).isGreaterThanOrEqualTo(Duration.ofSeconds(4));
        assertThat(summary.downtimeMs()).as("the pause counts from the rule's stop").isGreaterThan(100);
        checks.assertMigrated(summary);
    }

    @Test
    void multifdFourWithTimeoutPauseCarriesEveryDiskWrite() throws Exception {
        MigrationSummary summary = migrate(options().withMultifd(4).withConvergence(ConvergenceOptions.defaults()
            .withTimeout(Duration.ofSeconds(3), TimeoutAction.PAUSE)));

        assertThat(summary.convergence().kind()).isEqualTo(Kind.PAUSED);
        checks.assertMigrated(summary);
    }

    @Test
    void timeoutPostcopySwitchesWhenPrecopyRunsTooLong() throws Exception {
        MigrationSummary summary = migrate(options().withConvergence(ConvergenceOptions.defaults()
            .withTimeout(Duration.ofSeconds(4), TimeoutAction.POSTCOPY)));

        assertThat(summary.convergence().kind()).isEqualTo(Kind.SWITCHED_TO_POSTCOPY);
        assertThat(summary.convergence().after()).isGreaterThanOrEqualTo(Duration.ofSeconds(4));
        checks.assertMigrated(summary);
    }

    @Test
    void aDowntimeLimitAboveWhatThePassesLeaveLetsPrecopyConvergeByItself() throws Exception {
        MigrationSummary summary = migrate(options().withConvergence(ConvergenceOptions.defaults()
            .withDowntimeLimit(Duration.ofSeconds(8)).withTimeout(Duration.ofSeconds(40), TimeoutAction.ABORT)));

        assertThat(summary.convergence().kind()).isEqualTo(Kind.CONVERGED);
        assertThat(summary.downtimeMs()).as("QEMU's downtime, read once QEMU has filled it in").isGreaterThan(0);
        assertThat(parameter(rig.source, "downtime-limit").asLong()).isEqualTo(8000);
        checks.assertMigrated(summary);
    }

    @Test
    void anXbzrleCacheDeltaEncodesTheResentPagesAndPrecopyConverges() throws Exception {
        MigrationSummary summary = migrate(options().withConvergence(ConvergenceOptions.defaults()
            .withXbzrleCache(64L << 20).withTimeout(Duration.ofSeconds(40), TimeoutAction.ABORT)));

        assertThat(summary.convergence().kind()).as("the guest rewrites 16 bytes of each page per sweep")
            .isEqualTo(Kind.CONVERGED);
        JsonNode cache = rig.source.qmp().execute("query-migrate").block(Duration.ofSeconds(5)).path("xbzrle-cache");
        assertThat(cache.path("pages").asLong()).as("pages sent delta-encoded: %s", cache).isGreaterThan(1000);
        assertThat(parameter(rig.source, "xbzrle-cache-size").asLong()).isEqualTo(64L << 20);
        checks.assertMigrated(summary);
    }

    @Test
    void zstdCompressedMultifdChannelsCarryEveryPageAndDiskWrite() throws Exception {
        MigrationSummary summary = migrate(options().withMultifd(4).withConvergence(ConvergenceOptions.defaults()
            .withCompression(ConvergenceOptions.Compression.ZSTD).withTimeout(Duration.ofSeconds(3), TimeoutAction.PAUSE)));

        assertThat(summary.convergence().kind()).isEqualTo(Kind.PAUSED);
        assertThat(parameter(rig.source, "multifd-compression").asText()).isEqualTo("zstd");
        assertThat(parameter(rig.destination, "multifd-compression").asText()).isEqualTo("zstd");
        checks.assertMigrated(summary);
    }

    private static JsonNode parameter(QemuVm vm, String name) {
        return vm.qmp().execute("query-migrate-parameters").block(Duration.ofSeconds(5)).path(name);
    }

    /** The RAM bandwidth limit, and a minute for the mirrors, 90 s for RAM. */
    static MigrationOptions options() {
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
}
