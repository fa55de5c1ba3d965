package io.migtunnel.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.migtunnel.metrics.MigrationMeters.Tags;
import io.migtunnel.qemu.migration.MigrationException;
import io.migtunnel.qemu.migration.MigrationProgress;
import io.migtunnel.qemu.migration.MigrationStep;
import io.migtunnel.qemu.migration.MigrationSummary;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MockClock;
import io.micrometer.core.instrument.Tag;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The observer fed scripted migrations (plain records, no QEMU), read back from the Prometheus text. */
class MicrometerMigrationObserverTest {
    private static final MigrationSummary.Convergence CONVERGED =
        new MigrationSummary.Convergence(MigrationSummary.Convergence.Kind.CONVERGED, 1, 0, Duration.ZERO);
    private static final String MIRROR = "mirror the disks";
    private static final String RAM = "migrate RAM and device state";
    private static final String PREPARE = "prepare the destination";
    private static final long GIB = 1L << 30;

    private final MockClock clock = new MockClock();
    private final PrometheusMeterRegistry registry =
        new PrometheusMeterRegistry(PrometheusConfig.DEFAULT, new PrometheusRegistry(), clock);
    private final MicrometerMigrationObserver observer = new MicrometerMigrationObserver(registry);

    @Test
    void progressIsScrapedAndTheGaugesFallBackWhenTheMigrationCompletes() {
        assertThat(sample("migtunnel_migration_active")).isZero();

        observer.onStep(MigrationStep.CONNECT_QMP);
        observer.onStep(MigrationStep.MIRROR);
        observer.onProgress(new MigrationProgress(MigrationStep.MIRROR, Duration.ofSeconds(3),
            List.of(new MigrationProgress.Disk("drive0", 3 * GIB, 10 * GIB, false),
                new MigrationProgress.Disk("drive1", GIB, GIB, true)), null));

        assertThat(sample("migtunnel_migration_active")).isEqualTo(1);
        assertThat(step(MIRROR)).isEqualTo(1);
        assertThat(step("connect to the source QMP socket")).isZero();
        assertThat(disk("migtunnel_migration_disk_copied_bytes", "drive0")).isEqualTo(3.0 * GIB);
        assertThat(disk("migtunnel_migration_disk_total_bytes", "drive0")).isEqualTo(10.0 * GIB);
        assertThat(disk("migtunnel_migration_disk_ready", "drive0")).isZero();
        assertThat(disk("migtunnel_migration_disk_ready", "drive1")).isEqualTo(1);
        assertThat(sample("migtunnel_migration_ram_remaining_bytes")).as("no RAM reading yet").isZero();

        observer.onStep(MigrationStep.MIGRATE_RAM);
        observer.onProgress(new MigrationProgress(MigrationStep.MIGRATE_RAM, Duration.ofSeconds(9),
            List.of(new MigrationProgress.Disk("drive0", 10 * GIB, 10 * GIB, true),
                new MigrationProgress.Disk("drive1", GIB, GIB, true)),
            new MigrationProgress.Ram("active", 2 * GIB, GIB / 2, 4 * GIB, 50_000_000, 300, 8_000, 2, 30)));

        assertThat(step(MIRROR)).isZero();
        assertThat(step(RAM)).isEqualTo(1);
        assertThat(sample("migtunnel_migration_ram_transferred_bytes")).isEqualTo(2.0 * GIB);
        assertThat(sample("migtunnel_migration_ram_remaining_bytes")).isEqualTo(GIB / 2.0);
        assertThat(sample("migtunnel_migration_ram_total_bytes")).isEqualTo(4.0 * GIB);
        assertThat(sample("migtunnel_migration_ram_dirty_rate_bytes_per_second")).isEqualTo(50e6);
        assertThat(sample("migtunnel_migration_ram_throughput_bytes_per_second")).as("8,000 Mbit/s").isEqualTo(1e9);
        assertThat(sample("migtunnel_migration_expected_downtime_seconds")).isEqualTo(0.3);
        assertThat(sample("migtunnel_migration_ram_passes")).isEqualTo(2);
        assertThat(sample("migtunnel_migration_cpu_throttle_percent")).isEqualTo(30);
        assertThat(disk("migtunnel_migration_disk_copied_bytes", "drive0")).isEqualTo(10.0 * GIB);

        observer.onStep(MigrationStep.DONE);
        observer.onCompleted(new MigrationSummary("vm-secret-name",
            List.of(new MigrationSummary.Disk("drive0", 10 * GIB), new MigrationSummary.Disk("drive1", GIB)),
            2 * GIB, Duration.ofSeconds(12), 42, "running", new MigrationSummary.Convergence(
                MigrationSummary.Convergence.Kind.THROTTLED, 4, 40, Duration.ZERO), -1));
        assertThat(registry.find("migtunnel.migration.converged").tag("how", "throttled").counter().count()).isEqualTo(1);
        assertThat(registry.find("migtunnel.migration.postcopy.blocktime").timer()).as("no postcopy ran").isNull();

        assertThat(sample("migtunnel_migration_active")).isZero();
        for (String s : Tags.STEPS) {
            assertThat(step(s)).as(s).isZero();
        }
        assertThat(sample("migtunnel_migration_ram_transferred_bytes")).isZero();
        assertThat(sample("migtunnel_migration_ram_remaining_bytes")).isZero();
        assertThat(sample("migtunnel_migration_expected_downtime_seconds")).isZero();
        assertThat(disk("migtunnel_migration_disk_copied_bytes", "drive0")).as("disk gauges removed").isNaN();
        assertThat(migrations(Tags.COMPLETED, "done")).isEqualTo(1);
        assertThat(sample("migtunnel_migration_downtime_seconds_count")).isEqualTo(1);
        assertThat(sample("migtunnel_migration_downtime_seconds_sum")).isEqualTo(0.042);
        assertThat(sample("migtunnel_migration_duration_seconds_sum", Tags.OUTCOME, Tags.COMPLETED)).isEqualTo(12);
        assertThat(registry.scrape()).as("no VM-name tag").doesNotContain("vm-secret-name");
    }

    @Test
    void aFailureIsCountedAtTheStepThatFailedAndTimedThroughItsRollback() {
        observer.onStep(MigrationStep.CONNECT_QMP);
        clock.add(Duration.ofSeconds(4));
        observer.onStep(MigrationStep.MIGRATE_RAM);
        observer.onProgress(new MigrationProgress(MigrationStep.MIGRATE_RAM, Duration.ofSeconds(4),
            List.of(new MigrationProgress.Disk("drive0", GIB, GIB, true)),
            new MigrationProgress.Ram("active", GIB, GIB, 4 * GIB, 1, 1, 1, 1, 0)));
        observer.onStep(MigrationStep.ROLL_BACK);
        assertThat(step("roll back")).isEqualTo(1);
        clock.add(Duration.ofSeconds(1));

        observer.onFailed(new MigrationException(MigrationStep.MIGRATE_RAM, "QEMU reports the migration failed", ""));

        assertThat(migrations(Tags.FAILED, RAM)).isEqualTo(1);
        assertThat(sample("migtunnel_migration_duration_seconds_sum", Tags.OUTCOME, Tags.FAILED)).isEqualTo(5);
        assertThat(sample("migtunnel_migration_active")).isZero();
        assertThat(step("roll back")).isZero();
        assertThat(sample("migtunnel_migration_ram_total_bytes")).isZero();
        assertThat(disk("migtunnel_migration_disk_total_bytes", "drive0")).isNaN();
        assertThat(sample("migtunnel_migration_rollback_incomplete_total", Tags.STEP, RAM))
            .as("the rollback did everything").isNaN();
        assertThat(sample("migtunnel_migration_downtime_seconds_count")).isZero();

        observer.onStep(MigrationStep.CONNECT_QMP);
        clock.add(Duration.ofSeconds(2));
        observer.onFailed(new MigrationException(MigrationStep.PREPARE, "no route", "the VM is still paused"));

        assertThat(migrations(Tags.FAILED, PREPARE)).isEqualTo(1);
        assertThat(sample("migtunnel_migration_rollback_incomplete_total", Tags.STEP, PREPARE))
            .isEqualTo(1);
        assertThat(sample("migtunnel_migration_duration_seconds_count", Tags.OUTCOME, Tags.FAILED)).isEqualTo(2);
        assertThat(sample("migtunnel_migration_duration_seconds_sum", Tags.OUTCOME, Tags.FAILED)).isEqualTo(7);
    }

    @Test
    void tagValuesStayBounded() {
        List<MigrationProgress.Disk> disks = new ArrayList<>();
        for (int i = 0; i < MicrometerMigrationObserver.MAX_DISKS + 3; i++) {
            disks.add(new MigrationProgress.Disk("disk" + i, 10, 100, true));
        }
        observer.onProgress(new MigrationProgress(MigrationStep.MIRROR, Duration.ZERO, disks, null));

        assertThat(step(MIRROR)).isEqualTo(1);
        assertThat(step(Tags.OTHER)).as("no step is other: the series stays at 0").isZero();
        assertThat(disk("migtunnel_migration_disk_copied_bytes", "disk0")).isEqualTo(10);
        assertThat(disk("migtunnel_migration_disk_copied_bytes", Tags.OTHER)).as("3 disks share it").isEqualTo(30);
        assertThat(disk("migtunnel_migration_disk_total_bytes", Tags.OTHER)).isEqualTo(300);
        assertThat(registry.find("migtunnel.migration.disk.copied").gauges())
            .hasSize(MicrometerMigrationObserver.MAX_DISKS + 1);

        observer.onFailed(new MigrationException(MigrationStep.MIRROR, "x", ""));

        assertThat(migrations(Tags.FAILED, MIRROR)).isEqualTo(1);
        assertThat(registry.find("migtunnel.migration.disk.copied").gauges()).isEmpty();
    }

    @Test
    void oneObserverPerRegistryReusedForTheNextMigration() {
        assertThatThrownBy(() -> new MicrometerMigrationObserver(registry)).isInstanceOf(IllegalStateException.class);

        for (int i = 0; i < 2; i++) {
            observer.onStep(MigrationStep.MIRROR);
            assertThat(sample("migtunnel_migration_active")).isEqualTo(1);
            observer.onCompleted(new MigrationSummary("vm", List.of(), 1, Duration.ofSeconds(1), 10, "running",
                CONVERGED, -1));
            assertThat(sample("migtunnel_migration_active")).isZero();
        }
        assertThat(migrations(Tags.COMPLETED, MIRROR)).as("ended without a done step").isEqualTo(2);
    }

    @Test
    void everyMeterOfTheCatalogueIsRecordedWithItsTypeUnitAndTags() {
        observer.onStep(MigrationStep.MIRROR);
        observer.onFailed(new MigrationException(MigrationStep.MIRROR, "mirror failed", "could not cancel the mirror"));
        observer.onStep(MigrationStep.MIRROR);
        observer.onCompleted(new MigrationSummary("vm", List.of(), 1, Duration.ofSeconds(1), 10, "running",
            new MigrationSummary.Convergence(MigrationSummary.Convergence.Kind.SWITCHED_TO_POSTCOPY, 2, 0,
                Duration.ofSeconds(3)), 250));
        assertThat(registry.find("migtunnel.migration.postcopy.blocktime").timer().totalTime(TimeUnit.MILLISECONDS))
            .isEqualTo(250);
        observer.onProgress(new MigrationProgress(MigrationStep.MIGRATE_RAM, Duration.ZERO,
            List.of(new MigrationProgress.Disk("drive0", 1, 2, false)), new MigrationProgress.Ram("active", 1, 1, 2, 1, 1, 1, 1, 0)));

        for (MigrationMeters meter : MigrationMeters.values()) {
            List<Meter> meters = List.copyOf(registry.find(meter.meterName()).meters());
            assertThat(meters).as(meter.meterName()).isNotEmpty();
            for (Meter m : meters) {
                assertThat(m.getId().getType()).as(meter.meterName()).isEqualTo(meter.type());
                if (meter.type() != Meter.Type.TIMER) {
                    assertThat(m.getId().getBaseUnit()).as(meter.meterName()).isEqualTo(meter.baseUnit());
                }
                assertThat(m.getId().getTags()).extracting(Tag::getKey).as(meter.meterName())
                    .containsExactlyInAnyOrderElementsOf(meter.tagKeys());
            }
        }
    }

    /** One step series per {@link MigrationStep}, tagged with its label, and {@link Tags#OTHER}: nothing to keep in sync by hand. */
    @Test
    void everyMigrationStepHasItsStepSeries() {
        List<String> tags = registry.find(MigrationMeters.STEP.meterName()).gauges().stream()
            .map(g -> g.getId().getTag(Tags.STEP)).toList();
        List<String> expected = new ArrayList<>(Tags.STEPS);
        expected.add(Tags.OTHER);
        assertThat(tags).containsExactlyInAnyOrderElementsOf(expected);
        assertThat(Tags.STEPS).hasSize(MigrationStep.values().length)
            .startsWith("connect to the source QMP socket").endsWith("done", "roll back");
    }

    private double sample(String name) {
        return Scraper.sample(registry.scrape(), name, Map.of());
    }

    private double sample(String name, String tag, String value) {
        return Scraper.sample(registry.scrape(), name, Map.of(tag, value));
    }

    private double step(String step) {
        return sample("migtunnel_migration_step", Tags.STEP, step);
    }

    private double disk(String name, String disk) {
        return sample(name, Tags.DISK, disk);
    }

    private double migrations(String outcome, String step) {
        return Scraper.sample(registry.scrape(), "migtunnel_migrations_total", Map.of(Tags.OUTCOME, outcome, Tags.STEP, step));
    }
}
