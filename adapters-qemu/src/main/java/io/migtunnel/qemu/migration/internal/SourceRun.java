package io.migtunnel.qemu.migration.internal;

import com.fasterxml.jackson.databind.JsonNode;
import io.migtunnel.qemu.migration.MigrationException;
import io.migtunnel.qemu.migration.MigrationObserver;
import io.migtunnel.qemu.migration.MigrationOptions;
import io.migtunnel.qemu.migration.MigrationStep;
import io.migtunnel.qemu.migration.MigrationSummary;
import io.migtunnel.qemu.migration.internal.ControlMessage.Finish;
import io.migtunnel.qemu.migration.internal.ControlMessage.Finished;
import io.migtunnel.qemu.migration.internal.ControlMessage.Prepare;
import io.migtunnel.qemu.qmp.QmpClient;
import io.migtunnel.qemu.qmp.QmpEvent;
import io.migtunnel.transport.Tunnel;
import io.migtunnel.transport.TunnelSource;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;

/**
 * One outgoing migration, step by step on the calling thread (blocking): mirror every disk over
 * NBD into the destination's exports ({@link DiskMirrors}), migrate RAM with
 * {@code pause-before-switchover} ({@link RamMigration}), complete the mirrors while the VM is
 * paused, switch over, finish the destination. Any failure or {@link #abort} rolls back
 * ({@link SourceRollback}).
 */
public final class SourceRun {
    private static final Logger log = LoggerFactory.getLogger(SourceRun.class);
    private static final Duration CONNECT = Duration.ofSeconds(15);
    private static final Duration FINISH = Duration.ofSeconds(120);

    private final Path qmpSocket;
    private final TunnelSource tunnelSource;
    private final MigrationOptions options;
    private final MigrationObserver observer;
    private final Abortable abortable = new Abortable();
    /** Signals a MIGRATION or block job event, so that a poll loop looks again at once. */
    private final Wakeups wakeups = new Wakeups();
    private final SourceProgress progress;

    private SourceQemu qemu;
    private DiskMirrors mirrors;
    private RamMigration ram;
    private Disposable eventWatch;
    private Tunnel tunnel;
    private ControlClient control;
    private Path dir;
    private String vm;
    private boolean wasRunning;

    public SourceRun(Path qmpSocket, TunnelSource tunnelSource, MigrationOptions options, MigrationObserver observer) {
        this.qmpSocket = qmpSocket;
        this.tunnelSource = tunnelSource;
        this.options = options;
        this.observer = observer;
        this.progress = new SourceProgress(observer);
    }

    /** Stops the migration as soon as possible and rolls it back; {@link #call()} then fails with {@code reason}. */
    public void abort(String reason) {
        abortable.abort(reason);
        wakeups.signal();
    }

    /** Runs the migration; throws {@link MigrationException} after rolling back. */
    public MigrationSummary call() {
        try {
            MigrationSummary summary = migrate();
            observer.onCompleted(summary);
            return summary;
        } catch (Throwable t) {
            MigrationStep failedStep = progress.step();
            String reason = describe(t);
            log.warn("migration failed at '{}': {}; rolling back", failedStep, reason);
            progress.step(MigrationStep.ROLL_BACK);
            String problems = new SourceRollback(qemu, mirrors, ram, tunnel, control).run(wasRunning, abortable.reason());
            MigrationException failure = new MigrationException(failedStep, reason, problems);
            observer.onFailed(failure);
            throw failure;
        } finally {
            release();
        }
    }

    private MigrationSummary migrate() throws IOException {
        progress.step(MigrationStep.CONNECT_QMP);
        QmpClient qmp = abortable.await(label(), QmpClient.connect(qmpSocket, CONNECT), CONNECT.plusSeconds(5));
        qemu = new SourceQemu(qmp, abortable, wakeups, this::label);
        mirrors = new DiskMirrors(qemu, options, progress);
        ram = new RamMigration(qemu, options, progress, mirrors);
        eventWatch = qmp.events().subscribe(this::onEvent);

        progress.step(MigrationStep.INSPECT);
        String status = qemu.call(qmp.queryStatus());
        if (!status.equals("running") && !status.equals("paused")) {
            throw new StepFailure("the source VM is '" + status + "', expected running or paused");
        }
        wasRunning = status.equals("running");
        List<BlockDevices.Disk> disks = BlockDevices.select(BlockDevices.list(qemu.call(qmp.queryBlock())), options.disks());
        QemuCommands commands = qemu.call(QemuCommands.query(qmp));
        QemuCapabilities capabilities = qemu.call(QemuCapabilities.query(qmp));
        if (options.postcopyPreempt()) {
            capabilities.require(QemuCapabilities.POSTCOPY_PREEMPT, "source", "--postcopy-preempt");
        }
        vm = options.vm() != null ? options.vm() : qemu.call(qmp.execute("query-name")).path("name").asText("vm");
        if (vm.isEmpty()) {
            vm = "vm";
        }

        progress.step(MigrationStep.CONNECT_TUNNEL);
        Path migrationSocket = connectTunnel(disks);

        progress.step(MigrationStep.PREPARE);
        abortable.await(label(), control.call(prepareRequest(), FINISH), FINISH.plusSeconds(5));

        progress.step(MigrationStep.START_MIRRORS);
        mirrors.start(commands);

        progress.step(MigrationStep.MIRROR);
        mirrors.awaitReady();

        progress.step(MigrationStep.START_MIGRATION);
        ram.start(migrationSocket, capabilities);

        progress.step(MigrationStep.MIGRATE_RAM);
        ram.awaitPreSwitchover();

        progress.step(MigrationStep.COMPLETE_MIRRORS);
        if (qemu.paused() == null) { // else paused already by the convergence rule, whose deadline stands
            qemu.pausedUntil(Deadline.after(options.switchoverTimeout()));
        }
        List<MigrationSummary.Disk> diskBytes = mirrors.complete();

        progress.step(MigrationStep.SWITCH_OVER);
        JsonNode done = ram.switchOver();
        long downtimeMs = ram.downtimeMs(done, System.nanoTime());

        progress.step(MigrationStep.REMOVE_NBD_NODES);
        mirrors.removeNbdNodes();

        progress.step(MigrationStep.FINISH);
        Finished finished = finishDestination();
        progress.step(MigrationStep.DONE);
        return new MigrationSummary(vm, diskBytes, done.path("ram").path("transferred").asLong(),
            progress.elapsed(), downtimeMs, finished.status(), ram.convergence(done),
            finished.postcopyBlocktime() != null ? finished.postcopyBlocktime() : -1);
    }

    /** Exposes the migration and NBD sockets through a new tunnel session and opens its control stream. */
    private Path connectTunnel(List<BlockDevices.Disk> disks) throws IOException {
        dir = PrivateDirs.create("migtunnel-src-");
        Path migrationSocket = dir.resolve("migration.sock");
        // With postcopy-preempt, QEMU's second connection (made while the first is open) is the preempt channel.
        TunnelSource spec = options.postcopyPreempt()
            ? tunnelSource.expose(ControlNames.MIGRATION, migrationSocket, ControlNames.PREEMPT)
            : tunnelSource.expose(ControlNames.MIGRATION, migrationSocket);
        for (BlockDevices.Disk d : disks) {
            DiskMirrors.Mirror m = mirrors.add(d, dir);
            spec = spec.expose(m.stream(), m.socket());
        }
        tunnel = abortable.await(label(), spec.start(), CONNECT.plusSeconds(15));
        tunnel.onClose().subscribe(null,
            e -> abortable.abort("the tunnel was lost: " + e.getMessage()),
            () -> abortable.abort("the tunnel closed"));
        control = ControlClient.start(abortable.await(label(), tunnel.openStream(ControlNames.CONTROL), SourceQemu.COMMAND),
            why -> abortable.abort(why));
        return migrationSocket;
    }

    private Prepare prepareRequest() {
        List<Prepare.Disk> disks = mirrors.all().stream()
            .map(m -> new Prepare.Disk(m.disk().id(), m.disk().size(), m.stream())).toList();
        int channels = options.multifdChannels();
        return new Prepare(vm, disks, RamMigration.capabilities(options, false),
            new Prepare.Parameters(channels > 0 ? channels : null,
                channels > 0 ? options.convergence().compression().qemuName() : null), 0);
    }

    /** Asks the destination to finish; returns its answer, whose VM status must match the source's before. */
    private Finished finishDestination() {
        // A VM paused on the source stays paused on the destination.
        Finished finish = abortable.await(label(), control.call(new Finish(wasRunning, 0), FINISH), FINISH.plusSeconds(5));
        String destinationStatus = finish.status() != null ? finish.status() : "unknown";
        String expected = wasRunning ? "running" : "paused";
        if (!destinationStatus.equals(expected)) {
            throw new StepFailure("the destination VM is '" + destinationStatus + "' after the migration, not " + expected);
        }
        return new Finished(destinationStatus, finish.postcopyBlocktime());
    }

    private void release() {
        if (control != null) {
            control.close();
        }
        if (tunnel != null) {
            try {
                tunnel.shutdown(Duration.ofSeconds(2)).block(Duration.ofSeconds(5));
            } catch (RuntimeException e) {
                tunnel.dispose();
            }
        }
        if (eventWatch != null) {
            eventWatch.dispose();
        }
        if (qemu != null) {
            qemu.client().close().onErrorResume(e -> Mono.empty()).block(Duration.ofSeconds(5));
        }
        PrivateDirs.delete(dir);
    }

    private void onEvent(QmpEvent e) {
        mirrors.onEvent(e);
        if (e.name().equals("MIGRATION") || e.name().startsWith("BLOCK_JOB_")) {
            wakeups.signal();
        }
    }

    private String label() {
        return progress.step().label();
    }

    /** A failure's text for the user. */
    static String describe(Throwable t) {
        if (t instanceof Abortable.AbortedException a) {
            return "aborted: " + a.getMessage();
        }
        String m = t.getMessage();
        return m != null && !m.isEmpty() ? m : t.toString();
    }
}
