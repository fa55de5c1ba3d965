package io.migtunnel.qemu.migration.internal;

import com.fasterxml.jackson.databind.JsonNode;
import io.migtunnel.qemu.migration.MigrationOptions;
import io.migtunnel.qemu.migration.MigrationProgress;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * QEMU's migration of RAM and device state on the source: started with
 * {@code pause-before-switchover} (and switched to postcopy when asked), watched until the pause,
 * let through the switch-over ({@code migrate-continue}) and awaited to completion, or cancelled
 * in a rollback. While the switch-over has not happened, every reading also checks the mirrors.
 */
final class RamMigration {
    private static final Set<String> OVER = Set.of("completed", "failed", "cancelled", "none");

    private final SourceQemu qemu;
    private final MigrationOptions options;
    private final SourceProgress progress;
    private final DiskMirrors mirrors;
    private boolean started;
    private boolean switchedOver;
    private boolean completed;

    RamMigration(SourceQemu qemu, MigrationOptions options, SourceProgress progress, DiskMirrors mirrors) {
        this.qemu = qemu;
        this.options = options;
        this.progress = progress;
        this.mirrors = mirrors;
    }

    /** The capabilities both sides share; the source alone pauses before switch-over to complete the mirrors. */
    static Map<String, Boolean> capabilities(MigrationOptions options, boolean source) {
        Map<String, Boolean> caps = new LinkedHashMap<>();
        caps.put("events", true);
        caps.put("multifd", options.multifdChannels() > 0);
        caps.put("postcopy-ram", options.postcopy());
        if (source) {
            caps.put("pause-before-switchover", true);
        }
        return caps;
    }

    /** The source's parameters; the destination gets {@code multifd-channels} only ({@link ControlMessage.Prepare.Parameters}). */
    private static Map<String, Object> parameters(MigrationOptions options) {
        Map<String, Object> params = new LinkedHashMap<>();
        if (options.multifdChannels() > 0) {
            params.put("multifd-channels", options.multifdChannels());
        }
        params.put("max-bandwidth", options.maxBandwidth() > 0 ? options.maxBandwidth()
            : MigrationOptions.UNLIMITED_BANDWIDTH);
        return params;
    }

    /** Sets capabilities and parameters and runs {@code migrate} into {@code socket} (then postcopy, if asked). */
    void start(Path socket) {
        qemu.call(qemu.client().migrateSetCapabilities(capabilities(options, true)));
        qemu.call(qemu.client().migrateSetParameters(parameters(options)));
        started = true;
        qemu.call(qemu.client().execute("migrate", Map.of("uri", "unix:" + socket)));
        if (options.postcopy()) {
            qemu.call(qemu.client().execute("migrate-start-postcopy"));
        }
    }

    /** Waits until QEMU pauses the VM before the switch-over. */
    void awaitPreSwitchover() {
        awaitStatus("pre-switchover", Deadline.after(options.migrationTimeout()),
            "the migration did not reach pre-switchover within " + options.migrationTimeout());
    }

    /**
     * Lets QEMU switch over and waits for the migration to complete: for precopy within the pause,
     * for postcopy (the VM runs on the destination now) within the migration timeout. Returns the
     * last {@code query-migrate}.
     */
    JsonNode switchOver() {
        qemu.call(qemu.client().execute("migrate-continue", Map.of("state", "pre-switchover")));
        switchedOver = true;
        JsonNode done;
        if (options.postcopy()) {
            qemu.pausedUntil(null);
            done = awaitStatus("completed", Deadline.after(options.migrationTimeout()),
                "postcopy did not complete within " + options.migrationTimeout());
        } else {
            done = awaitStatus("completed", qemu.paused(), "the switch-over did not complete within "
                + options.switchoverTimeout() + " of the VM's pause (switch-over timeout)");
        }
        completed = true;
        qemu.pausedUntil(null);
        return done;
    }

    /** Polls {@code query-migrate} (and the mirrors) until {@code wanted}; failed or cancelled is an error. */
    private JsonNode awaitStatus(String wanted, Deadline deadline, String timedOut) {
        return qemu.poll().until(deadline, () -> {
            JsonNode info = qemu.call(qemu.client().queryMigrate());
            String status = info.path("status").asText();
            JsonNode ram = info.path("ram");
            progress.ram(new MigrationProgress.Ram(status, ram.path("transferred").asLong(), ram.path("remaining").asLong(),
                ram.path("total").asLong(), ram.path("dirty-pages-rate").asLong() * ram.path("page-size").asLong(4096),
                info.path("expected-downtime").asLong(), ram.path("mbps").asDouble()));
            if (!switchedOver) {
                mirrors.checkRunning();
            } else {
                progress.publish();
            }
            if (status.equals("failed") || status.equals("cancelled")) {
                throw new StepFailure("QEMU reports the migration " + status
                    + (info.has("error-desc") ? ": " + info.path("error-desc").asText() : ""));
            }
            return status.equals(wanted) ? info : null;
        }, () -> timedOut);
    }

    boolean started() {
        return started;
    }

    boolean switchedOver() {
        return switchedOver;
    }

    boolean completed() {
        return completed;
    }

    /** Past the switch-over of a postcopy migration that has not completed: nothing can be undone. */
    boolean splitBetweenHosts() {
        return switchedOver && options.postcopy() && !completed;
    }

    /** Whether the source still owns the VM: the migration did not complete, nor did postcopy take it over. */
    boolean sourceOwnsVm() {
        return !completed && !(switchedOver && options.postcopy());
    }

    // ---- for the rollback: abort-proof ----

    /** {@code migrate_cancel} unless the migration is over, then waits until it is. */
    void cancel() {
        if (!OVER.contains(status())) {
            SourceQemu.callAnyway("migrate_cancel", qemu.client().execute("migrate_cancel"));
        }
        qemu.rollbackPoll().until(Deadline.after(SourceRollback.WAIT), () -> OVER.contains(status()) ? Boolean.TRUE : null,
            () -> "the migration is still '" + status() + "' " + SourceRollback.WAIT + " after migrate_cancel");
    }

    private String status() {
        return SourceQemu.callAnyway("query-migrate", qemu.client().queryMigrate()).path("status").asText("none");
    }
}
