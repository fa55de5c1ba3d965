package io.migtunnel.qemu.migration.internal;

import io.migtunnel.transport.Tunnel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Undoes a source migration that failed or was aborted, best effort, each part even if an earlier
 * one failed: force-cancel the mirrors, cancel the migration, resume the source VM if it ran
 * before, remove the NBD nodes, tell the destination to abort. After a postcopy switch-over
 * nothing can be undone, and the rollback says so.
 */
final class SourceRollback {
    private static final Logger log = LoggerFactory.getLogger(SourceRun.class);
    /** How long each part of the rollback may wait for QEMU or the destination. */
    static final Duration WAIT = Duration.ofSeconds(15);
    /** How long force-cancelled mirrors may take to end before the rollback cuts their NBD connections. */
    private static final Duration MIRROR_CANCEL_GRACE = Duration.ofSeconds(3);

    private final SourceQemu qemu;
    private final DiskMirrors mirrors;
    private final RamMigration ram;
    private final Tunnel tunnel;
    private final ControlClient control;
    /** The rollback closed the tunnel to free mirrors stuck on a destination that stopped reading. */
    private boolean tunnelCut;

    /** {@code qemu}, {@code mirrors} and {@code ram} are null before QMP connected; {@code tunnel} and {@code control} before they were. */
    SourceRollback(SourceQemu qemu, DiskMirrors mirrors, RamMigration ram, Tunnel tunnel, ControlClient control) {
        this.qemu = qemu;
        this.mirrors = mirrors;
        this.ram = ram;
        this.tunnel = tunnel;
        this.control = control;
    }

    /** Rolls back; {@code wasRunning}: the VM ran before. Returns what could not be done, empty when nothing. */
    String run(boolean wasRunning, String reason) {
        List<String> problems = new ArrayList<>();
        if (qemu != null) {
            if (!ram.switchedOver()) {
                attempt(problems, "cancel the mirrors", this::cancelMirrors);
            }
            if (ram.started() && ram.sourceOwnsVm()) {
                attempt(problems, "cancel the migration", ram::cancel);
            }
            if (wasRunning && ram.sourceOwnsVm()) {
                attempt(problems, "resume the source VM", this::resumeSource);
            }
            attempt(problems, "remove the NBD nodes", mirrors::removeNbdNodes);
        }
        if (tunnelGone()) {
            log.info("the tunnel {}: the destination undoes its prepare when it sees the session end",
                tunnelCut ? "was cut to end stuck mirrors" : "is gone");
        } else if (control != null) {
            try {
                Abortable.awaitAnyway("abort", control.call(
                    new ControlMessage.Abort(reason != null ? reason : "the source rolled back", 0), WAIT), WAIT.plusSeconds(1));
            } catch (RuntimeException e) {
                if (tunnelGone()) {
                    // lost while asking: the destination cleans up on the session's end, as above
                    log.info("the tunnel went away during the abort: the destination undoes its prepare when it sees "
                        + "the session end ({})", SourceRun.describe(e));
                } else {
                    problems.add("the destination may still hold its prepared exports: could not abort it: "
                        + SourceRun.describe(e));
                }
            }
        }
        if (ram != null && ram.splitBetweenHosts()) {
            problems.add("postcopy had started: the VM's memory is split between both hosts and cannot be rolled back");
        }
        return String.join("; ", problems);
    }

    /**
     * Force-cancels the mirrors. Mirrors whose NBD requests a destination no longer answers cannot
     * end while the connection lives: after {@link #MIRROR_CANCEL_GRACE} the tunnel is cut, so
     * QEMU fails those requests and the jobs end.
     */
    private void cancelMirrors() {
        mirrors.forceCancel();
        Poll poll = qemu.rollbackPoll();
        if (poll.within(Deadline.after(MIRROR_CANCEL_GRACE), () -> mirrors.runningJobs().isEmpty() ? Boolean.TRUE : null)
                != null) {
            return;
        }
        if (tunnel != null) {
            log.warn("mirrors still running {} after a forced cancel: cutting the tunnel to end their NBD requests",
                MIRROR_CANCEL_GRACE);
            tunnelCut = true;
            tunnel.dispose();
        }
        poll.until(Deadline.after(WAIT), () -> mirrors.runningJobs().isEmpty() ? Boolean.TRUE : null,
            () -> "mirror jobs still running after " + WAIT + ": " + mirrors.runningJobs());
    }

    /** Whether the tunnel is cut or lost: the destination then undoes its prepare when it sees the session end. */
    private boolean tunnelGone() {
        return tunnelCut || tunnel != null && tunnel.sessions().isEmpty();
    }

    private void resumeSource() {
        // QEMU resumes a VM it paused for a migration that then failed or was cancelled, but not
        // always at once; wait briefly before resuming it ourselves.
        Boolean running = qemu.rollbackPoll().within(Deadline.after(Duration.ofSeconds(3)),
            () -> SourceQemu.callAnyway("query-status", qemu.client().queryStatus()).equals("running") ? Boolean.TRUE : null);
        if (running == null) {
            SourceQemu.callAnyway("cont", qemu.client().execute("cont"));
        }
    }

    private static void attempt(List<String> problems, String what, Runnable action) {
        try {
            action.run();
        } catch (RuntimeException e) {
            problems.add("could not " + what + ": " + SourceRun.describe(e));
        }
    }
}
