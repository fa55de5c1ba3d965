package io.migtunnel.qemu.migration.internal;

import io.migtunnel.qemu.migration.MigrationObserver;
import io.migtunnel.qemu.migration.MigrationProgress;
import io.migtunnel.qemu.migration.MigrationStep;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** What the observer hears of one source migration: its step, and the latest readings of the mirrors and RAM. */
final class SourceProgress {
    private static final Logger log = LoggerFactory.getLogger(SourceRun.class);

    private final MigrationObserver observer;
    private final long started = System.nanoTime();
    private MigrationStep step = MigrationStep.CONNECT_QMP;
    private List<MigrationProgress.Disk> disks = List.of();
    private MigrationProgress.Ram ram;

    SourceProgress(MigrationObserver observer) {
        this.observer = observer;
    }

    /** The current step. */
    MigrationStep step() {
        return step;
    }

    /** Time since the migration began. */
    Duration elapsed() {
        return Duration.ofNanos(System.nanoTime() - started);
    }

    /** {@code next} begins: tells the observer, then publishes. */
    void step(MigrationStep next) {
        step = next;
        log.debug("step: {}", next);
        observer.onStep(next);
        publish();
    }

    /** A fresh reading of the mirrors; published at once. */
    void disks(List<MigrationProgress.Disk> reading) {
        disks = reading;
        publish();
    }

    /** A fresh reading of RAM; published with the next {@link #publish()}. */
    void ram(MigrationProgress.Ram reading) {
        ram = reading;
    }

    void publish() {
        observer.onProgress(new MigrationProgress(step, elapsed(), disks, ram));
    }
}
