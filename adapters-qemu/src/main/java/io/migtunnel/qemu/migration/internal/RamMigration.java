package io.migtunnel.qemu.migration.internal;

import com.fasterxml.jackson.databind.JsonNode;
import io.migtunnel.qemu.migration.MigrationOptions;
import io.migtunnel.qemu.migration.MigrationProgress;
import io.migtunnel.qemu.migration.ConvergenceOptions;
import io.migtunnel.qemu.migration.MigrationSummary;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Consumer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * QEMU's migration of RAM and device state on the source: started with
 * {@code pause-before-switchover} (and switched to postcopy when asked, or when the
 * {@link ConvergenceWatch} says so), watched until the pause,
 * let through the switch-over ({@code migrate-continue}) and awaited to completion, or cancelled
 * in a rollback. While the switch-over has not happened, every reading also checks the mirrors.
 */
final class RamMigration {
    static final Duration TIMES_SETTLE = Duration.ofSeconds(2);
    private static final Logger log = LoggerFactory.getLogger(SourceRun.class);
    private static final Set<String> OVER = Set.of("completed", "failed", "cancelled", "none");

    private final SourceQemu qemu;
    private final MigrationOptions options;
    private final SourceProgress progress;
    private final DiskMirrors mirrors;
    private boolean started;
    private boolean switchedOver;
    private boolean completed;
    private boolean postcopyRan;
    private ConvergenceWatch watch;
    /** When the convergence rule paused the source VM, else 0. */
    private long pausedAtNanos;

    RamMigration(SourceQemu qemu, MigrationOptions options, SourceProgress progress, DiskMirrors mirrors) {
        this.qemu = qemu;
        this.options = options;
        this.progress = progress;
        this.mirrors = mirrors;
    }

    /**
     * The capabilities; the source alone pauses before switch-over (to complete the mirrors),
     * throttles and uses XBZRLE, the destination alone measures postcopy's blocktime. Postcopy's
     * capability is on wherever the migration may switch to it: QEMU needs it on both sides
     * before the migration starts; so is postcopy-preempt's, when asked for.
     */
    static Map<String, Boolean> capabilities(MigrationOptions options, boolean source) {
        ConvergenceOptions c = options.convergence();
        Map<String, Boolean> caps = new LinkedHashMap<>();
        caps.put("events", true);
        caps.put("multifd", options.multifdChannels() > 0);
        caps.put("postcopy-ram", options.mayRunPostcopy());
        if (options.postcopyPreempt()) {
            caps.put(QemuCapabilities.POSTCOPY_PREEMPT, true);
        }
        if (source) {
            caps.put("pause-before-switchover", true);
            caps.put("auto-converge", c.autoConverge());
            caps.put("xbzrle", c.xbzrleCacheBytes() > 0);
        } else if (options.mayRunPostcopy()) {
            caps.put("postcopy-blocktime", true);
        }
        return caps;
    }

    /** The source's parameters; the destination gets multifd's only ({@link ControlMessage.Prepare.Parameters}). */
    private static Map<String, Object> parameters(MigrationOptions options) {
        ConvergenceOptions c = options.convergence();
        Map<String, Object> params = new LinkedHashMap<>();
        if (options.multifdChannels() > 0) {
            params.put("multifd-channels", options.multifdChannels());
            params.put("multifd-compression", c.compression().qemuName());
        }
        params.put("max-bandwidth", options.maxBandwidth() > 0 ? options.maxBandwidth()
            : MigrationOptions.UNLIMITED_BANDWIDTH);
        if (c.downtimeLimit() != null) {
            params.put("downtime-limit", c.downtimeLimit().toMillis());
        }
        if (c.autoConverge()) {
            params.put("cpu-throttle-initial", c.throttleInitial());
            params.put("cpu-throttle-increment", c.throttleIncrement());
        }
        if (c.xbzrleCacheBytes() > 0) {
            params.put("xbzrle-cache-size", c.xbzrleCacheBytes());
        }
        return params;
    }

    /**
     * Sets capabilities and parameters and runs {@code migrate} into {@code socket} (then postcopy,
     * if asked). Postcopy-preempt, when {@code known} and not asked for, is turned off: QEMU keeps
     * capabilities from an earlier migration, and refuses it without postcopy-ram.
     */
    void start(Path socket, QemuCapabilities known) {
        Map<String, Boolean> caps = capabilities(options, true);
        if (!options.postcopyPreempt() && known.has(QemuCapabilities.POSTCOPY_PREEMPT)) {
            caps.put(QemuCapabilities.POSTCOPY_PREEMPT, false);
        }
        qemu.call(qemu.client().migrateSetCapabilities(caps));
        qemu.call(qemu.client().migrateSetParameters(parameters(options)));
        started = true;
        watch = new ConvergenceWatch(options, System.nanoTime());
        qemu.call(qemu.client().execute("migrate", Map.of("uri", "unix:" + socket)));
        if (options.postcopy()) {
            qemu.call(qemu.client().execute("migrate-start-postcopy"));
        }
    }

    /** Waits until QEMU pauses the VM before the switch-over. */
    void awaitPreSwitchover() {
        awaitStatus("pre-switchover", Deadline.after(options.migrationTimeout()),
            "the migration did not reach pre-switchover within " + options.migrationTimeout(), this::converge);
    }

    /** Acts on what the {@link ConvergenceWatch} decides for this reading of precopy. */
    private void converge(JsonNode info) {
        int passes = info.path("ram").path("dirty-sync-count").asInt();
        int throttle = info.path("cpu-throttle-percentage").asInt();
        switch (watch.next(passes, throttle, System.nanoTime())) {
            case START_POSTCOPY -> {
                log.info("switching to postcopy after {} passes over RAM", passes);
                qemu.call(qemu.client().execute("migrate-start-postcopy"));
            }
            case PAUSE -> {
                log.info("pausing the source VM so that precopy finishes (timeout, action pause)");
                qemu.call(qemu.client().execute("stop"));
                pausedAtNanos = System.nanoTime();
                qemu.pausedUntil(Deadline.after(options.switchoverTimeout()));
            }
            case ABORT -> throw new StepFailure(watch.abortReason());
            case NONE -> {
                Deadline pause = qemu.paused();
                if (pause != null && pause.passed()) {
                    throw new StepFailure("precopy did not finish within " + options.switchoverTimeout().toSeconds()
                        + " s of pausing the source VM (switch-over timeout)");
                }
            }
        }
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
        if (watch.postcopyRequested()) {
            qemu.pausedUntil(null);
            done = awaitStatus("completed", Deadline.after(options.migrationTimeout()),
                "postcopy did not complete within " + options.migrationTimeout(), info -> { });
        } else {
            done = awaitStatus("completed", qemu.paused(), "the switch-over did not complete within "
                + options.switchoverTimeout() + " of the VM's pause (switch-over timeout)", info -> { });
        }
        completed = true;
        qemu.pausedUntil(null);
        return withTimes(done);
    }

    /**
     * QEMU 7.2 reports {@code completed} a moment before its migration thread fills in the times
     * ({@code migration_calculate_complete}): a reading in between has {@code total-time} and
     * {@code downtime} 0. Asks again for up to {@link #TIMES_SETTLE}; a summary with a downtime of
     * 0 is better than a completed migration reported as failed.
     */
    private JsonNode withTimes(JsonNode done) {
        if (done.path("total-time").asLong() > 0) {
            return done;
        }
        JsonNode settled = qemu.poll().within(Deadline.after(TIMES_SETTLE), () -> {
            JsonNode info = qemu.call(qemu.client().queryMigrate());
            return info.path("total-time").asLong() > 0 ? info : null;
        });
        return settled != null ? settled : done;
    }

    /** How precopy converged; once {@link #switchOver()} returned. */
    MigrationSummary.Convergence convergence(JsonNode done) {
        return watch.outcome(postcopyRan, done.path("ram").path("dirty-sync-count").asInt());
    }

    /** When the rule paused the VM (before QEMU's own pause): the pause since then, in ms; else QEMU's downtime. */
    long downtimeMs(JsonNode done, long completedNanos) {
        long qemuDowntime = done.path("downtime").asLong();
        return pausedAtNanos == 0 ? qemuDowntime
            : Math.max(qemuDowntime, Duration.ofNanos(completedNanos - pausedAtNanos).toMillis());
    }

    /** Polls {@code query-migrate} (and the mirrors) until {@code wanted}; failed or cancelled is an error. */
    private JsonNode awaitStatus(String wanted, Deadline deadline, String timedOut, Consumer<JsonNode> whileRunning) {
        return qemu.poll().until(deadline, () -> {
            JsonNode info = qemu.call(qemu.client().queryMigrate());
            String status = info.path("status").asText();
            JsonNode ram = info.path("ram");
            postcopyRan |= status.startsWith("postcopy");
            progress.ram(new MigrationProgress.Ram(status, ram.path("transferred").asLong(), ram.path("remaining").asLong(),
                ram.path("total").asLong(), ram.path("dirty-pages-rate").asLong() * ram.path("page-size").asLong(4096),
                info.path("expected-downtime").asLong(), ram.path("mbps").asDouble(),
                ram.path("dirty-sync-count").asInt(), info.path("cpu-throttle-percentage").asInt()));
            if (!switchedOver) {
                mirrors.checkRunning();
            } else {
                progress.publish();
            }
            if (status.equals("failed") || status.equals("cancelled")) {
                throw new StepFailure("QEMU reports the migration " + status
                    + (info.has("error-desc") ? ": " + info.path("error-desc").asText() : ""));
            }
            if (status.equals(wanted)) {
                return info;
            }
            if (status.equals("active")) {
                whileRunning.accept(info);
            }
            return null;
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
        return switchedOver && watch.postcopyRequested() && !completed;
    }

    /** Whether the source still owns the VM: the migration did not complete, nor did postcopy take it over. */
    boolean sourceOwnsVm() {
        return !completed && !(switchedOver && watch.postcopyRequested());
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
