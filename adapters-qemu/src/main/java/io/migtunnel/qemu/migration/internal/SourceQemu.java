package io.migtunnel.qemu.migration.internal;

import io.migtunnel.qemu.qmp.QmpClient;
import java.time.Duration;
import java.util.function.Supplier;
import reactor.core.publisher.Mono;

/**
 * The source QEMU as one migration talks to it: every command ends at once on an abort and, while
 * the VM is paused for the switch-over, never waits past {@link #pausedUntil}; polls are woken by
 * QEMU's events.
 */
final class SourceQemu {
    /** The longest a QMP command may take. */
    static final Duration COMMAND = Duration.ofSeconds(30);
    private static final Duration POLL = Duration.ofMillis(250);

    private final QmpClient qmp;
    private final Abortable abortable;
    private final Supplier<String> step;
    private final Poll poll;
    private final Poll rollbackPoll;
    /** While the source VM is paused for the switch-over: when it must run again. Caps every wait. */
    private volatile Deadline paused;

    /** Talks to {@code qmp}; {@code step} names the current step in timeouts; {@code wakeups} end a poll's wait. */
    SourceQemu(QmpClient qmp, Abortable abortable, Wakeups wakeups, Supplier<String> step) {
        this.qmp = qmp;
        this.abortable = abortable;
        this.step = step;
        this.poll = new Poll(wakeups, POLL, abortable::throwIfAborted);
        this.rollbackPoll = new Poll(wakeups, POLL, () -> { });
    }

    QmpClient client() {
        return qmp;
    }

    /** A command's result; while the VM is paused, never waiting past {@link #pausedUntil}. */
    <T> T call(Mono<T> command) {
        Deadline pause = paused;
        return abortable.await(step.get(), command, pause == null ? COMMAND.plusSeconds(5) : pause.cap(COMMAND));
    }

    /** A command's result even after an abort (for the rollback). */
    static <T> T callAnyway(String what, Mono<T> command) {
        return Abortable.awaitAnyway(what, command, COMMAND);
    }

    /** The VM is paused until {@code deadline}, or runs again ({@code null}). */
    void pausedUntil(Deadline deadline) {
        paused = deadline;
    }

    /** The deadline of the pause, or null while the VM runs. */
    Deadline paused() {
        return paused;
    }

    /** Polls that an abort ends. */
    Poll poll() {
        return poll;
    }

    /** The rollback's polls: an abort does not end them. */
    Poll rollbackPoll() {
        return rollbackPoll;
    }
}
