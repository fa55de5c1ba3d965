package io.migtunnel.cli;

import io.migtunnel.qemu.migration.MigrationException;
import io.migtunnel.qemu.migration.MigrationObserver;
import io.migtunnel.qemu.migration.MigrationSummary;
import io.migtunnel.qemu.migration.SourceMigration;
import java.io.PrintStream;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.publisher.Sinks;
import sun.misc.Signal;

/**
 * Runs a {@link SourceMigration} in the foreground: progress on stdout, SIGINT/SIGTERM abort it
 * (the rollback finishes before the process exits), the summary or the failure at the end.
 */
final class MigrationRunner {
    /** Exit code of a migration that failed and was rolled back. */
    static final int EXIT_FAILED = 1;

    private MigrationRunner() {
    }

    /** Returns the exit code: 0, {@link #EXIT_FAILED}, or 128 + the signal number when a signal aborted it. */
    static int run(SourceMigration migration, MigrationObserver extra, PrintStream out, PrintStream err) {
        Sinks.One<String> abort = Sinks.one();
        AtomicInteger signal = new AtomicInteger();
        java.util.Map<Signal, sun.misc.SignalHandler> previous = new java.util.HashMap<>();
        for (String name : new String[] {"INT", "TERM"}) {
            previous.put(new Signal(name), Signal.handle(new Signal(name), sig -> {
                if (signal.compareAndSet(0, sig.getNumber())) {
                    err.println("migtunnel: SIG" + sig.getName() + ": aborting the migration and rolling back...");
                    abort.tryEmitValue("interrupted by SIG" + sig.getName());
                }
            }));
        }
        ProgressDisplay progress = ProgressDisplay.forStdout();
        try {
            MigrationSummary summary = migration.observer(MigrationObserver.all(progress, extra))
                .abortOn(abort.asMono()).run().block();
            progress.finish();
            SummaryText.lines(summary).forEach(out::println);
            return 0;
        } catch (MigrationException e) {
            progress.finish();
            err.println("migtunnel: " + e.getMessage());
            err.println("migtunnel: " + (e.rollbackProblems().isEmpty()
                ? "rolled back: the source VM keeps running on its own disks"
                : "rollback incomplete: " + e.rollbackProblems()));
            return signal.get() != 0 ? 128 + signal.get() : EXIT_FAILED;
        } finally {
            previous.forEach(Signal::handle); // after the migration, signals end the process as usual
        }
    }
}
