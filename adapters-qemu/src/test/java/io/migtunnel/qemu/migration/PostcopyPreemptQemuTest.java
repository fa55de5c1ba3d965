package io.migtunnel.qemu.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.migtunnel.qemu.migration.MigrationSummary.Convergence.Kind;
import io.migtunnel.qemu.migration.internal.ControlNames;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real QEMU with postcopy-preempt through the tunnel: the busy guest of {@link ConvergenceQemuTest}
 * switches to postcopy after the first pass, the pages its vCPUs wait for go on QEMU's second
 * channel as stream {@code migration/preempt}, and it runs on on the destination with its RAM and
 * disk writes intact. Where either QEMU lacks the capability, the migration is refused before
 * anything is copied.
 */
@Tag("qemu")
@Timeout(240)
class PostcopyPreemptQemuTest {
    private static final Duration RUN = Duration.ofMinutes(3);

    @TempDir
    Path dir;
    private MigrationRig rig;

    @AfterEach
    void stop() {
        if (rig != null) {
            rig.close();
        }
    }

    @Test
    void postcopyWithPreemptCompletesAndTheGuestGoesOnOnTheDestination() throws Exception {
        MigrationRig.assumeQemu();
        rig = MigrationRig.busy(dir, ConvergenceQemuTest.DISK, ConvergenceQemuTest.GUEST);
        BusyGuestChecks.awaitRunning(rig.source);

        MigrationSummary summary = rig.migration().options(ConvergenceQemuTest.options()
            .withConvergence(ConvergenceOptions.defaults().withPostcopyAfterPrecopy(true))
            .withPostcopyPreempt(true)).run().block(RUN);

        System.out.println("postcopy after precopy with preempt: blocktime " + summary.postcopyBlocktimeMs() + " ms, "
            + summary.convergence().describe() + "; preempt stream " + rig.sourceEvents.sentOn(ControlNames.PREEMPT)
            + " bytes, migration stream " + rig.sourceEvents.sentOn(ControlNames.MIGRATION) + " bytes");
        assertThat(summary.convergence().kind()).isEqualTo(Kind.SWITCHED_TO_POSTCOPY);
        assertThat(summary.postcopyBlocktimeMs()).as("the destination measured the blocktime").isGreaterThanOrEqualTo(0);
        assertThat(rig.sourceEvents.openedStreams()).as("QEMU's second connection is the preempt stream, opened after "
            + "the main one").containsSubsequence(ControlNames.MIGRATION, ControlNames.PREEMPT)
            .containsOnlyOnce(ControlNames.MIGRATION, ControlNames.PREEMPT);
        assertThat(rig.sourceEvents.sentOn(ControlNames.PREEMPT)).as("QEMU wrote its preempt channel into the stream")
            .isPositive();
        assertThat(capability(rig.destination, "postcopy-preempt")).isTrue();
        new BusyGuestChecks(rig, ConvergenceQemuTest.GUEST).assertMigrated(summary);
    }

    @Test
    void aSourceQemuWithoutTheCapabilityIsRefusedBeforeAnythingStarts() throws Exception {
        MigrationRig.assumeQemu();
        rig = new MigrationRig(dir, MigrationRig.MiB, MigrationRig.disks(MigrationRig.MiB, MigrationRig.MiB));
        Path proxied = dir.resolve("old-src.qmp");
        try (QmpCommandHidingProxy proxy = new QmpCommandHidingProxy(proxied, rig.source.qmpSocket(),
                Set.of("postcopy-preempt"))) {
            SourceMigration migration = SourceMigration.create(proxied, io.migtunnel.transport.TunnelSource.create()
                .connect(new java.net.InetSocketAddress("127.0.0.1", rig.tunnel.address().getPort())));
            assertThatThrownBy(() -> migration.options(preemptOptions()).run().block(RUN))
                .isInstanceOf(MigrationException.class)
                .satisfies(e -> assertThat(((MigrationException) e).step()).isEqualTo(MigrationStep.INSPECT))
                .hasMessageContaining("the source QEMU lacks the 'postcopy-preempt' migration capability")
                .hasMessageContaining("--postcopy-preempt cannot be used with it");
            assertThat(proxy.executed()).doesNotContain("migrate-set-capabilities", "migrate");
        }
        assertThat(rig.destinationEvents.openedStreams()).as("nothing reached the destination").isEmpty();
        rig.assertSourceUntouched();
    }

    @Test
    void aDestinationQemuWithoutTheCapabilityIsRefusedBeforeAnythingIsCopied() throws Exception {
        MigrationRig.assumeQemu();
        QmpCommandHidingProxy[] proxy = new QmpCommandHidingProxy[1];
        rig = new MigrationRig(dir, MigrationRig.MiB, MigrationRig.disks(MigrationRig.MiB, MigrationRig.MiB), vm -> {
            try {
                proxy[0] = new QmpCommandHidingProxy(dir.resolve("old-dst.qmp"), vm.qmpSocket(),
                    Set.of("postcopy-preempt"));
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return QmpLocator.single(dir.resolve("old-dst.qmp"));
        });
        try (QmpCommandHidingProxy p = proxy[0]) {
            assertThatThrownBy(() -> rig.migration().options(preemptOptions()).run().block(RUN))
                .isInstanceOf(MigrationException.class)
                .satisfies(e -> assertThat(((MigrationException) e).step()).isEqualTo(MigrationStep.PREPARE))
                .hasMessageContaining("the destination QEMU lacks the 'postcopy-preempt' migration capability");
            assertThat(p.executed()).doesNotContain("nbd-server-start", "migrate-set-capabilities", "migrate-incoming");
        }
        assertThat(rig.destination.status()).isEqualTo("inmigrate");
        rig.assertSourceUntouched();
    }

    private static MigrationOptions preemptOptions() {
        return MigrationOptions.defaults().withPostcopy(true).withPostcopyPreempt(true);
    }

    private static boolean capability(io.migtunnel.qemu.vm.QemuVm vm, String name) {
        for (var c : vm.qmp().execute("query-migrate-capabilities").block(Duration.ofSeconds(5))) {
            if (c.path("capability").asText().equals(name)) {
                return c.path("state").asBoolean();
            }
        }
        return false;
    }
}
