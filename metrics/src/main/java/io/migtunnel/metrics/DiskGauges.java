package io.migtunnel.metrics;

import io.migtunnel.metrics.MigrationMeters.Tags;
import io.migtunnel.qemu.migration.MigrationProgress;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import java.util.function.ToDoubleFunction;

/** The mirror gauges of one disk tag during a migration; written by the migration's thread, read by scrapes. */
final class DiskGauges {
    private volatile long copied;
    private volatile long total;
    private volatile boolean ready;
    private final List<Gauge> gauges;

    DiskGauges(MeterRegistry registry, String disk) {
        gauges = List.of(
            gauge(registry, MigrationMeters.DISK_COPIED, disk, g -> g.copied),
            gauge(registry, MigrationMeters.DISK_TOTAL, disk, g -> g.total),
            gauge(registry, MigrationMeters.DISK_READY, disk, g -> g.ready ? 1 : 0));
    }

    private Gauge gauge(MeterRegistry registry, MigrationMeters meter, String disk, ToDoubleFunction<DiskGauges> value) {
        return Gauge.builder(meter.meterName(), this, value)
            .description(meter.description())
            .baseUnit(meter.baseUnit())
            .tag(Tags.DISK, disk)
            .strongReference(true)
            .register(registry);
    }

    void set(Sum sum) {
        copied = sum.copied;
        total = sum.total;
        ready = sum.ready;
    }

    void remove(MeterRegistry registry) {
        gauges.forEach(registry::remove);
    }

    /** The disks of one reading that share a tag: bytes added up, ready when all are. */
    static final class Sum {
        private long copied;
        private long total;
        private boolean ready = true;

        void add(MigrationProgress.Disk disk) {
            copied += disk.copied();
            total += disk.total();
            ready &= disk.ready();
        }
    }
}
