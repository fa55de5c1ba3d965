package io.migtunnel.qemu.migration;

import io.migtunnel.qemu.migration.internal.SourceRun;
import io.migtunnel.transport.TunnelSource;
import java.nio.file.Path;
import java.util.Objects;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Migrates the VM behind a source QMP socket, with its disks, to a destination running
 * {@link IncomingMigrations}, over one tunnel session.
 *
 * <p>Steps: inspect the VM; connect the tunnel and ask the destination to prepare (it refuses
 * missing or differently sized disks before anything is copied); mirror every disk over NBD
 * ({@code blockdev-mirror}, or {@code drive-mirror} on QEMU without it) until in sync; migrate RAM
 * with {@code pause-before-switchover}; while the VM is paused, complete the mirrors with
 * {@code block-job-cancel} (the source never pivots to the copy); switch over; remove the NBD
 * nodes; the destination stops its NBD server and confirms its VM runs.
 *
 * <p>Any failure, or {@link #abortOn an abort}, before the switch-over rolls back: mirrors are
 * force-cancelled, the migration cancelled, the source VM left running on its own disks, the
 * destination told to abort; {@link #run()} then fails with {@link MigrationException}.
 */
public final class SourceMigration {
    private final Path qmpSocket;
    private final TunnelSource tunnel;
    private final MigrationOptions options;
    private final MigrationObserver observer;
    private final Mono<String> abort;

    private SourceMigration(Path qmpSocket, TunnelSource tunnel, MigrationOptions options, MigrationObserver observer,
                            Mono<String> abort) {
        this.qmpSocket = Objects.requireNonNull(qmpSocket, "qmpSocket");
        this.tunnel = Objects.requireNonNull(tunnel, "tunnel");
        this.options = Objects.requireNonNull(options, "options");
        this.observer = Objects.requireNonNull(observer, "observer");
        this.abort = Objects.requireNonNull(abort, "abort");
    }

    /**
     * A migration of the VM at {@code qmpSocket} through a session that {@code tunnel} (address,
     * TLS, limits) connects; the migration adds its own exposed sockets in a private directory.
     */
    public static SourceMigration create(Path qmpSocket, TunnelSource tunnel) {
        return new SourceMigration(qmpSocket, tunnel, MigrationOptions.defaults(), MigrationObserver.NONE, Mono.never());
    }

    public SourceMigration options(MigrationOptions value) {
        return new SourceMigration(qmpSocket, tunnel, value, observer, abort);
    }

    public SourceMigration observer(MigrationObserver value) {
        return new SourceMigration(qmpSocket, tunnel, options, value, abort);
    }

    /** When {@code reason} emits, the migration stops and rolls back; {@link #run()} fails naming the reason. */
    public SourceMigration abortOn(Mono<String> reason) {
        return new SourceMigration(qmpSocket, tunnel, options, observer, reason);
    }

    /**
     * Runs the migration on a worker thread; emits the summary, or fails with
     * {@link MigrationException} once the rollback is over. Cancelling the subscription aborts too,
     * but does not wait for the rollback.
     */
    public Mono<MigrationSummary> run() {
        return Mono.defer(() -> {
            SourceRun run = new SourceRun(qmpSocket, tunnel, options, observer);
            var trigger = abort.subscribe(run::abort);
            return Mono.fromCallable(run::call)
                .subscribeOn(Schedulers.boundedElastic())
                .doOnCancel(() -> run.abort("cancelled"))
                .doFinally(s -> trigger.dispose());
        });
    }
}
