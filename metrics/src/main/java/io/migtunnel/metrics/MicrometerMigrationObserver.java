package io.migtunnel.metrics;

import io.migtunnel.metrics.MigrationMeters.Tags;
import io.migtunnel.qemu.migration.MigrationException;
import io.migtunnel.qemu.migration.MigrationObserver;
import io.migtunnel.qemu.migration.MigrationProgress;
import io.migtunnel.qemu.migration.MigrationStep;
import io.migtunnel.qemu.migration.MigrationSummary;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * Records the {@link MigrationMeters} of the migrations it observes into the caller's
 * {@link MeterRegistry}:
 *
 * <pre>{@code
 * MicrometerMigrationObserver metrics = new MicrometerMigrationObserver(registry);
 * SourceMigration.create(...).observer(metrics).run();
 * }</pre>
 *
 * <p>One instance per registry (a second one is refused), observing one migration at a time and
 * reusable for the next: its gauges describe the migration in progress and fall back to 0 when it
 * ends. Callbacks come from the migration's thread, scrapes from any thread.
 */
public final class MicrometerMigrationObserver implements MigrationObserver {
    /** Distinct disk ids tagged by id in one migration; further disks share the tag {@value Tags#OTHER}. */
    public static final int MAX_DISKS = 32;
    private static final double BYTES_PER_MEGABIT = 1e6 / 8;

    private final MeterRegistry registry;
    private final Timer downtime;
    private final Map<String, DiskGauges> disks = new ConcurrentHashMap<>();
    private volatile boolean active;
    private volatile MigrationStep step;
    private volatile MigrationProgress.Ram ram;
    private long startedNanos;

    /** Records into {@code registry}; throws if another instance already records there. */
    public MicrometerMigrationObserver(MeterRegistry registry) {
        this.registry = Objects.requireNonNull(registry, "registry");
        if (registry.find(MigrationMeters.ACTIVE.meterName()).gauge() != null) {
            throw new IllegalStateException("a MicrometerMigrationObserver already records into this registry: share it");
        }
        gauge(MigrationMeters.ACTIVE, o -> o.active ? 1 : 0);
        for (MigrationStep s : MigrationStep.values()) {
            stepGauge(s.label(), s);
        }
        stepGauge(Tags.OTHER, null); // no step is "other" any more; the series stays, at 0
        ramGauge(MigrationMeters.RAM_TRANSFERRED, MigrationProgress.Ram::transferred);
        ramGauge(MigrationMeters.RAM_REMAINING, MigrationProgress.Ram::remaining);
        ramGauge(MigrationMeters.RAM_TOTAL, MigrationProgress.Ram::total);
        ramGauge(MigrationMeters.RAM_DIRTY_RATE, MigrationProgress.Ram::dirtyBytesPerSecond);
        ramGauge(MigrationMeters.RAM_THROUGHPUT, r -> r.mbps() * BYTES_PER_MEGABIT);
        ramGauge(MigrationMeters.EXPECTED_DOWNTIME, r -> r.expectedDowntimeMs() / 1000.0);
        ramGauge(MigrationMeters.RAM_PASSES, MigrationProgress.Ram::passes);
        ramGauge(MigrationMeters.CPU_THROTTLE, MigrationProgress.Ram::throttlePercent);
        downtime = Timer.builder(MigrationMeters.DOWNTIME.meterName())
            .description(MigrationMeters.DOWNTIME.description())
            .register(registry);
    }

    private void gauge(MigrationMeters meter, ToDoubleFunction<MicrometerMigrationObserver> value) {
        Gauge.builder(meter.meterName(), this, value)
            .description(meter.description())
            .baseUnit(meter.baseUnit())
            .strongReference(true)
            .register(registry);
    }

    /** The gauge of {@code step}'s {@code tag}, 1 while the migration is at that step ({@code null}: never). */
    private void stepGauge(String tag, MigrationStep step) {
        Gauge.builder(MigrationMeters.STEP.meterName(), this, o -> o.active && step != null && step == o.step ? 1 : 0)
            .description(MigrationMeters.STEP.description())
            .tag(Tags.STEP, tag)
            .strongReference(true)
            .register(registry);
    }

    private void ramGauge(MigrationMeters meter, ToDoubleFunction<MigrationProgress.Ram> value) {
        gauge(meter, o -> {
            MigrationProgress.Ram r = o.ram;
            return r == null ? 0 : value.applyAsDouble(r);
        });
    }

    /** Whether a migration is in progress. */
    public boolean isActive() {
        return active;
    }

    @Override
    public void onStep(MigrationStep name) {
        begin();
        step = name;
    }

    @Override
    public void onProgress(MigrationProgress progress) {
        begin();
        step = progress.step();
        ram = progress.ram();
        updateDisks(progress.disks());
    }

    @Override
    public void onCompleted(MigrationSummary summary) {
        downtime.record(summary.downtimeMs(), TimeUnit.MILLISECONDS);
        if (summary.postcopyBlocktimeMs() >= 0) {
            Timer.builder(MigrationMeters.POSTCOPY_BLOCKTIME.meterName())
                .description(MigrationMeters.POSTCOPY_BLOCKTIME.description())
                .register(registry)
                .record(summary.postcopyBlocktimeMs(), TimeUnit.MILLISECONDS);
        }
        Counter.builder(MigrationMeters.CONVERGED.meterName())
            .description(MigrationMeters.CONVERGED.description())
            .tag(Tags.HOW, summary.convergence().kind().name().toLowerCase(java.util.Locale.ROOT))
            .register(registry)
            .increment();
        duration(Tags.COMPLETED).record(summary.elapsed());
        MigrationStep last = step;
        migrations(Tags.COMPLETED, (last != null ? last : MigrationStep.DONE).label()).increment();
        end();
    }

    @Override
    public void onFailed(MigrationException failure) {
        long elapsed = active ? registry.config().clock().monotonicTime() - startedNanos : 0;
        duration(Tags.FAILED).record(Duration.ofNanos(elapsed));
        String failedStep = failure.step().label();
        migrations(Tags.FAILED, failedStep).increment();
        if (!failure.rollbackProblems().isEmpty()) {
            Counter.builder(MigrationMeters.ROLLBACK_INCOMPLETE.meterName())
                .description(MigrationMeters.ROLLBACK_INCOMPLETE.description())
                .tag(Tags.STEP, failedStep)
                .register(registry)
                .increment();
        }
        end();
    }

    private void begin() {
        if (!active) {
            startedNanos = registry.config().clock().monotonicTime();
            active = true;
        }
    }

    /** The migration ended: its gauges fall back to 0 and its disks' gauges go away. */
    private void end() {
        active = false;
        step = null;
        ram = null;
        for (DiskGauges d : disks.values()) {
            d.remove(registry);
        }
        disks.clear();
    }

    private void updateDisks(List<MigrationProgress.Disk> progress) {
        Map<DiskGauges, DiskGauges.Sum> sums = new LinkedHashMap<>();
        for (MigrationProgress.Disk d : progress) {
            String tag = disks.containsKey(d.id()) || disks.size() < MAX_DISKS ? d.id() : Tags.OTHER;
            DiskGauges gauges = disks.computeIfAbsent(tag, t -> new DiskGauges(registry, t));
            sums.computeIfAbsent(gauges, g -> new DiskGauges.Sum()).add(d);
        }
        sums.forEach(DiskGauges::set);
    }

    private Timer duration(String outcome) {
        return Timer.builder(MigrationMeters.DURATION.meterName())
            .description(MigrationMeters.DURATION.description())
            .tag(Tags.OUTCOME, outcome)
            .register(registry);
    }

    private Counter migrations(String outcome, String stepTag) {
        return Counter.builder(MigrationMeters.MIGRATIONS.meterName())
            .description(MigrationMeters.MIGRATIONS.description())
            .tag(Tags.OUTCOME, outcome)
            .tag(Tags.STEP, stepTag)
            .register(registry);
    }
}
