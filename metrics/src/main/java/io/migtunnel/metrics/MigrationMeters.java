package io.migtunnel.metrics;

import io.micrometer.core.instrument.Meter;
import io.migtunnel.qemu.migration.MigrationStep;
import java.util.Arrays;
import java.util.List;

/**
 * Every meter recorded by {@link MicrometerMigrationObserver}: name, type, base unit, tag keys and
 * meaning. The gauges describe the migration in progress and read 0 (disk gauges: absent) between
 * migrations; the counter and timers accumulate over every migration. Tag values are bounded: a
 * fixed list of steps, two outcomes, and at most {@link MicrometerMigrationObserver#MAX_DISKS}
 * disk ids at a time. There is no VM-name tag: names are unbounded over a process's life.
 */
public enum MigrationMeters implements MeterSpec.Entry {
    ACTIVE("migtunnel.migration.active", Meter.Type.GAUGE, null,
        "1 while a migration runs (from its first step to its outcome), else 0"),
    STEP("migtunnel.migration.step", Meter.Type.GAUGE, null,
        "1 for the step the running migration is in, 0 for every other step", Tags.STEP),
    RAM_TRANSFERRED("migtunnel.migration.ram.transferred", Meter.Type.GAUGE, "bytes",
        "RAM and device state bytes QEMU has sent"),
    RAM_REMAINING("migtunnel.migration.ram.remaining", Meter.Type.GAUGE, "bytes",
        "RAM bytes QEMU still has to send (dirty pages included)"),
    RAM_TOTAL("migtunnel.migration.ram.total", Meter.Type.GAUGE, "bytes",
        "Guest RAM size"),
    RAM_DIRTY_RATE("migtunnel.migration.ram.dirty.rate", Meter.Type.GAUGE, "bytes.per.second",
        "How fast the guest dirties RAM"),
    RAM_THROUGHPUT("migtunnel.migration.ram.throughput", Meter.Type.GAUGE, "bytes.per.second",
        "QEMU's measured migration throughput"),
    EXPECTED_DOWNTIME("migtunnel.migration.expected.downtime", Meter.Type.GAUGE, "seconds",
        "QEMU's estimate of the pause at switch-over"),
    RAM_PASSES("migtunnel.migration.ram.passes", Meter.Type.GAUGE, null,
        "Passes over RAM so far (QEMU's dirty-sync-count; 1 during the first)"),
    CPU_THROTTLE("migtunnel.migration.cpu.throttle", Meter.Type.GAUGE, "percent",
        "The vCPU throttle auto-converge applies now, 0 when none"),
    DISK_COPIED("migtunnel.migration.disk.copied", Meter.Type.GAUGE, "bytes",
        "Bytes a disk's mirror has copied", Tags.DISK),
    DISK_TOTAL("migtunnel.migration.disk.total", Meter.Type.GAUGE, "bytes",
        "Bytes a disk's mirror has to copy so far (grows while the guest writes)", Tags.DISK),
    DISK_READY("migtunnel.migration.disk.ready", Meter.Type.GAUGE, null,
        "1 once a disk's mirror has caught up, else 0", Tags.DISK),
    DOWNTIME("migtunnel.migration.downtime", Meter.Type.TIMER, null,
        "The pause QEMU reports at switch-over, per completed migration"),
    POSTCOPY_BLOCKTIME("migtunnel.migration.postcopy.blocktime", Meter.Type.TIMER, null,
        "The total time the destination's vCPUs waited for pages postcopy had not brought, per migration that ran "
            + "postcopy (QEMU's postcopy-blocktime)"),
    CONVERGED("migtunnel.migration.converged", Meter.Type.COUNTER, null,
        "Completed migrations by how precopy got to the switch-over", Tags.HOW),
    DURATION("migtunnel.migration.duration", Meter.Type.TIMER, null,
        "From a migration's start to its outcome (a failure's rollback included)", Tags.OUTCOME),
    MIGRATIONS("migtunnel.migrations", Meter.Type.COUNTER, null,
        "Migrations finished, by outcome and the step they ended at", Tags.OUTCOME, Tags.STEP),
    ROLLBACK_INCOMPLETE("migtunnel.migration.rollback.incomplete", Meter.Type.COUNTER, null,
        "Failed migrations whose rollback could not undo everything (see the log)", Tags.STEP);

    private final MeterSpec spec;

    MigrationMeters(String meterName, Meter.Type type, String baseUnit, String description, String... tagKeys) {
        this.spec = new MeterSpec(meterName, type, baseUnit, description, tagKeys);
    }

    @Override
    public MeterSpec spec() {
        return spec;
    }

    /** Tag keys and their values. */
    public static final class Tags {
        /** A step of {@link #STEPS}, or {@link #OTHER}. */
        public static final String STEP = "step";
        /** {@link #COMPLETED} or {@link #FAILED}. */
        public static final String OUTCOME = "outcome";
        /** How a migration converged: a {@link io.migtunnel.qemu.migration.MigrationSummary.Convergence.Kind}, lower case. */
        public static final String HOW = "how";
        /** A disk id as the migration names it, such as {@code drive0}, or {@link #OTHER}. */
        public static final String DISK = "disk";

        public static final String COMPLETED = "completed";
        public static final String FAILED = "failed";
        /**
         * A disk beyond {@link MicrometerMigrationObserver#MAX_DISKS}. Its {@code step} series, kept
         * so that scrapes keep their series, reads 0: every step is a {@link MigrationStep}.
         */
        public static final String OTHER = "_other";

        /**
         * The values of the {@code step} tag besides {@link #OTHER}: the {@link MigrationStep#label()
         * labels} of every {@link MigrationStep}, in order. A completed migration ends at {@code done};
         * a failed one is counted at the step that failed, not at {@code roll back}.
         */
        public static final List<String> STEPS = Arrays.stream(MigrationStep.values()).map(MigrationStep::label).toList();

        private Tags() {
        }
    }
}
