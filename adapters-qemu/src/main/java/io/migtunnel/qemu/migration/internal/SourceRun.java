package io.migtunnel.qemu.migration.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.migtunnel.qemu.migration.MigrationException;
import io.migtunnel.qemu.migration.MigrationObserver;
import io.migtunnel.qemu.migration.MigrationOptions;
import io.migtunnel.qemu.migration.MigrationProgress;
import io.migtunnel.qemu.migration.MigrationSummary;
import io.migtunnel.qemu.qmp.QmpClient;
import io.migtunnel.qemu.qmp.QmpEvent;
import io.migtunnel.transport.Tunnel;
import io.migtunnel.transport.TunnelSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;

/**
 * One outgoing migration, step by step on the calling thread (blocking): mirror every disk over
 * NBD into the destination's exports, migrate RAM with {@code pause-before-switchover}, complete
 * the mirrors while the VM is paused, switch over, finish the destination. Any failure or
 * {@link #abort} rolls back: see {@link #rollback()}.
 */
public final class SourceRun {
    private static final Logger log = LoggerFactory.getLogger(SourceRun.class);
    private static final Duration COMMAND = Duration.ofSeconds(30);
    private static final Duration CONNECT = Duration.ofSeconds(15);
    private static final Duration POLL = Duration.ofMillis(250);
    private static final Duration ROLLBACK_WAIT = Duration.ofSeconds(15);
    /** How long force-cancelled mirrors may take to end before the rollback cuts their NBD connections. */
    private static final Duration MIRROR_CANCEL_GRACE = Duration.ofSeconds(3);
    private static final Duration FINISH = Duration.ofSeconds(120);
    private static final Set<String> MIGRATION_OVER = Set.of("completed", "failed", "cancelled", "none");

    private final Path qmpSocket;
    private final TunnelSource tunnelSource;
    private final MigrationOptions options;
    private final MigrationObserver observer;
    private final Abortable abortable = new Abortable();
    private final Map<String, JsonNode> jobEnds = new ConcurrentHashMap<>();
    /** Signals a MIGRATION or block job event, so that a poll loop looks again at once. */
    private final Wakeups wakeups = new Wakeups();
    private final Poll poll = new Poll(wakeups, POLL, abortable::throwIfAborted);
    /** The rollback's polls: an abort does not end them. */
    private final Poll rollbackPoll = new Poll(wakeups, POLL, () -> { });
    private final long started = System.nanoTime();

    private String step = "start";
    private QmpClient qmp;
    private Disposable eventWatch;
    private Tunnel tunnel;
    private ControlClient control;
    private Path dir;
    private String vm;
    private boolean wasRunning;
    private final List<Mirror> mirrors = new ArrayList<>();
    private final List<String> nbdNodes = new ArrayList<>();
    private boolean migrationStarted;
    private boolean switchedOver;
    private boolean completed;
    /** While the source VM is paused for the switch-over: when it must run again. Caps every wait. */
    private Deadline paused;
    /** The rollback closed the tunnel to free mirrors stuck on a destination that stopped reading. */
    private boolean tunnelCut;
    private List<MigrationProgress.Disk> diskProgress = List.of();
    private MigrationProgress.Ram ramProgress;

    /** A disk and its mirror job. */
    private record Mirror(BlockDevices.Disk disk, String job, String stream, Path socket) {
    }

    public SourceRun(Path qmpSocket, TunnelSource tunnelSource, MigrationOptions options, MigrationObserver observer) {
        this.qmpSocket = qmpSocket;
        this.tunnelSource = tunnelSource;
        this.options = options;
        this.observer = observer;
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
            String failedStep = step;
            String reason = describe(t);
            log.warn("migration failed at '{}': {}; rolling back", failedStep, reason);
            step("roll back");
            String problems = rollback();
            MigrationException failure = new MigrationException(failedStep, reason, problems);
            observer.onFailed(failure);
            throw failure;
        } finally {
            release();
        }
    }

    // ---- the migration, step by step ----

    private MigrationSummary migrate() throws IOException {
        step("connect to the source QMP socket");
        qmp = abortable.await(step, QmpClient.connect(qmpSocket, CONNECT), CONNECT.plusSeconds(5));
        eventWatch = qmp.events().subscribe(this::onEvent);

        step("inspect the source VM");
        String status = qmp(qmp.queryStatus());
        if (!status.equals("running") && !status.equals("paused")) {
            throw new StepFailure("the source VM is '" + status + "', expected running or paused");
        }
        wasRunning = status.equals("running");
        List<BlockDevices.Disk> disks = selectDisks(BlockDevices.list(qmp(qmp.queryBlock())));
        Set<String> commands = commands();
        boolean blockdevMirror = commands.contains("blockdev-mirror") && commands.contains("blockdev-add");
        vm = options.vm() != null ? options.vm() : qmp(qmp.execute("query-name")).path("name").asText("vm");
        if (vm.isEmpty()) {
            vm = "vm";
        }

        step("connect the tunnel");
        dir = PrivateDirs.create("migtunnel-src-");
        Path migrationSocket = dir.resolve("migration.sock");
        TunnelSource spec = tunnelSource.expose(ControlNames.MIGRATION, migrationSocket);
        for (int i = 0; i < disks.size(); i++) {
            BlockDevices.Disk d = disks.get(i);
            Mirror m = new Mirror(d, "migtunnel-mirror-" + i, ControlNames.nbd(d.id(), i), dir.resolve("nbd-" + i + ".sock"));
            mirrors.add(m);
            spec = spec.expose(m.stream(), m.socket());
        }
        tunnel = abortable.await(step, spec.start(), CONNECT.plusSeconds(15));
        tunnel.onClose().subscribe(null,
            e -> abortable.abort("the tunnel was lost: " + e.getMessage()),
            () -> abortable.abort("the tunnel closed"));
        control = ControlClient.start(abortable.await(step, tunnel.openStream(ControlNames.CONTROL), COMMAND),
            why -> abortable.abort(why));

        step("prepare the destination");
        abortable.await(step, control.call(ControlNames.PREPARE, prepareRequest(), FINISH), FINISH.plusSeconds(5));

        step("start the disk mirrors");
        for (Mirror m : mirrors) {
            startMirror(m, blockdevMirror);
        }

        step("mirror the disks");
        poll.until(Deadline.after(options.mirrorTimeout()), () -> allMirrorsReady() ? Boolean.TRUE : null,
            () -> "the mirrors did not catch up within " + options.mirrorTimeout());

        step("start the migration");
        qmp(qmp.migrateSetCapabilities(capabilities(true)));
        qmp(qmp.migrateSetParameters(parameters(true)));
        migrationStarted = true;
        qmp(qmp.execute("migrate", Map.of("uri", "unix:" + migrationSocket)));
        if (options.postcopy()) {
            qmp(qmp.execute("migrate-start-postcopy"));
        }

        step("migrate RAM and device state");
        awaitMigrationStatus("pre-switchover", Deadline.after(options.migrationTimeout()),
            "the migration did not reach pre-switchover within " + options.migrationTimeout());

        step("complete the disk mirrors (VM paused)");
        paused = Deadline.after(options.switchoverTimeout());
        for (Mirror m : mirrors) {
            qmp(qmp.blockJobCancel(m.job(), false));
        }
        poll.until(paused, () -> readMirrors().isEmpty() ? Boolean.TRUE : null,
            () -> "the disk mirrors did not complete within " + options.switchoverTimeout()
                + " of the VM's pause (switch-over timeout)");
        List<MigrationSummary.Disk> diskBytes = new ArrayList<>();
        for (Mirror m : mirrors) {
            JsonNode end = jobEnds.get(m.job());
            if (end != null && end.has("error")) {
                throw new StepFailure("the mirror of disk '" + m.disk().id() + "' failed: " + end.path("error").asText());
            }
            diskBytes.add(new MigrationSummary.Disk(m.disk().id(), end == null ? 0 : end.path("offset").asLong()));
        }

        step("switch over");
        qmp(qmp.execute("migrate-continue", Map.of("state", "pre-switchover")));
        switchedOver = true;
        JsonNode done;
        if (options.postcopy()) { // the VM runs on the destination now
            paused = null;
            done = awaitMigrationStatus("completed", Deadline.after(options.migrationTimeout()),
                "postcopy did not complete within " + options.migrationTimeout());
        } else {
            done = awaitMigrationStatus("completed", paused, "the switch-over did not complete within "
                + options.switchoverTimeout() + " of the VM's pause (switch-over timeout)");
        }
        completed = true;
        paused = null;

        step("remove the NBD nodes");
        removeNbdNodes();

        step("finish on the destination");
        ObjectNode finishArgs = JsonLines.object();
        finishArgs.put("resume", wasRunning); // a VM paused on the source stays paused on the destination
        JsonNode finish = abortable.await(step, control.call(ControlNames.FINISH, finishArgs, FINISH),
            FINISH.plusSeconds(5));
        String destinationStatus = finish.path("status").asText("unknown");
        String expected = wasRunning ? "running" : "paused";
        if (!destinationStatus.equals(expected)) {
            throw new StepFailure("the destination VM is '" + destinationStatus + "' after the migration, not " + expected);
        }
        step("done");
        return new MigrationSummary(vm, diskBytes, done.path("ram").path("transferred").asLong(),
            Duration.ofNanos(System.nanoTime() - started), done.path("downtime").asLong(), destinationStatus);
    }

    private List<BlockDevices.Disk> selectDisks(List<BlockDevices.Disk> all) {
        List<BlockDevices.Disk> chosen = new ArrayList<>();
        if (options.disks().isEmpty()) {
            for (BlockDevices.Disk d : all) {
                if (!d.readOnly()) {
                    chosen.add(d);
                }
            }
            return chosen;
        }
        for (String want : options.disks()) {
            BlockDevices.Disk match = all.stream()
                .filter(d -> d.id().equals(want) || d.node().equals(want))
                .findFirst()
                .orElseThrow(() -> new StepFailure("the source VM has no disk '" + want + "' (it has: "
                    + String.join(", ", BlockDevices.ids(all)) + ")"));
            if (match.readOnly()) {
                throw new StepFailure("disk '" + want + "' is read-only on the source");
            }
            chosen.add(match);
        }
        return chosen;
    }

    private Set<String> commands() {
        Set<String> names = new HashSet<>();
        for (JsonNode c : qmp(qmp.execute("query-commands"))) {
            names.add(c.path("name").asText());
        }
        return names;
    }

    private ObjectNode prepareRequest() {
        ObjectNode req = JsonLines.object();
        req.put("vm", vm);
        ArrayNode disks = req.putArray("disks");
        for (Mirror m : mirrors) {
            disks.addObject().put("id", m.disk().id()).put("size", m.disk().size()).put("stream", m.stream());
        }
        req.set("capabilities", JsonLines.tree(capabilities(false)));
        req.set("parameters", JsonLines.tree(parameters(false)));
        return req;
    }

    /** The capabilities both sides share; the source alone pauses before switch-over to complete the mirrors. */
    private Map<String, Boolean> capabilities(boolean source) {
        Map<String, Boolean> caps = new LinkedHashMap<>();
        caps.put("events", true);
        caps.put("multifd", options.multifdChannels() > 0);
        caps.put("postcopy-ram", options.postcopy());
        if (source) {
            caps.put("pause-before-switchover", true);
        }
        return caps;
    }

    private Map<String, Object> parameters(boolean source) {
        Map<String, Object> params = new LinkedHashMap<>();
        if (options.multifdChannels() > 0) {
            params.put("multifd-channels", options.multifdChannels());
        }
        if (source) {
            params.put("max-bandwidth", options.maxBandwidth() > 0 ? options.maxBandwidth()
                : MigrationOptions.UNLIMITED_BANDWIDTH);
        }
        return params;
    }

    private void startMirror(Mirror m, boolean blockdevMirror) {
        if (blockdevMirror) {
            String node = "migtunnel-nbd-" + mirrors.indexOf(m);
            qmp(qmp.execute("blockdev-add", Map.of("driver", "nbd", "node-name", node,
                "server", Map.of("type", "unix", "path", m.socket().toString()), "export", m.disk().id())));
            nbdNodes.add(node);
            Map<String, Object> args = new LinkedHashMap<>(Map.of("job-id", m.job(), "device", m.disk().node(),
                "target", node, "sync", "full"));
            if (options.mirrorBandwidth() > 0) {
                args.put("speed", options.mirrorBandwidth());
            }
            qmp(qmp.execute("blockdev-mirror", args));
        } else {
            // QEMU without blockdev-mirror: drive-mirror opens the NBD target itself.
            Map<String, Object> args = new LinkedHashMap<>(Map.of("job-id", m.job(),
                "device", m.disk().device().isEmpty() ? m.disk().node() : m.disk().device(),
                "target", "nbd+unix:///" + m.disk().id() + "?socket=" + m.socket(),
                "format", "raw", "mode", "existing", "sync", "full"));
            if (options.mirrorBandwidth() > 0) {
                args.put("speed", options.mirrorBandwidth());
            }
            qmp(qmp.execute("drive-mirror", args));
        }
    }

    /** Our jobs QEMU still runs, by id; a job that ended early is a failure. */
    private Map<String, JsonNode> readMirrors() {
        Map<String, JsonNode> running = new LinkedHashMap<>();
        for (JsonNode j : qmp(qmp.queryBlockJobs())) {
            running.put(j.path("device").asText(), j);
        }
        List<MigrationProgress.Disk> progress = new ArrayList<>();
        Map<String, JsonNode> ours = new LinkedHashMap<>();
        for (Mirror m : mirrors) {
            JsonNode j = running.get(m.job());
            if (j != null) {
                ours.put(m.job(), j);
                progress.add(new MigrationProgress.Disk(m.disk().id(), j.path("offset").asLong(), j.path("len").asLong(),
                    j.path("ready").asBoolean()));
            } else {
                JsonNode end = jobEnds.get(m.job());
                long copied = end == null ? 0 : end.path("offset").asLong();
                progress.add(new MigrationProgress.Disk(m.disk().id(), copied, end == null ? 0 : end.path("len").asLong(),
                    true));
            }
        }
        diskProgress = progress;
        publish();
        return ours;
    }

    private boolean allMirrorsReady() {
        Map<String, JsonNode> ours = readMirrors();
        boolean ready = true;
        for (Mirror m : mirrors) {
            JsonNode j = ours.get(m.job());
            if (j == null) {
                throw mirrorEnded(m);
            }
            ready &= j.path("ready").asBoolean();
        }
        return ready;
    }

    private StepFailure mirrorEnded(Mirror m) {
        JsonNode end = jobEnds.get(m.job());
        String why = end != null && end.has("error") ? end.path("error").asText() : "the job ended unexpectedly";
        return new StepFailure("the mirror of disk '" + m.disk().id() + "' failed: " + why);
    }

    /** Polls {@code query-migrate} (and the mirrors) until {@code wanted}; failed or cancelled is an error. */
    private JsonNode awaitMigrationStatus(String wanted, Deadline deadline, String timedOut) {
        return poll.until(deadline, () -> {
            JsonNode info = qmp(qmp.queryMigrate());
            String status = info.path("status").asText();
            JsonNode ram = info.path("ram");
            ramProgress = new MigrationProgress.Ram(status, ram.path("transferred").asLong(), ram.path("remaining").asLong(),
                ram.path("total").asLong(), ram.path("dirty-pages-rate").asLong() * ram.path("page-size").asLong(4096),
                info.path("expected-downtime").asLong(), ram.path("mbps").asDouble());
            if (!switchedOver) {
                Map<String, JsonNode> ours = readMirrors();
                for (Mirror m : mirrors) {
                    if (!ours.containsKey(m.job())) {
                        throw mirrorEnded(m);
                    }
                }
            } else {
                publish();
            }
            if (status.equals("failed") || status.equals("cancelled")) {
                throw new StepFailure("QEMU reports the migration " + status
                    + (info.has("error-desc") ? ": " + info.path("error-desc").asText() : ""));
            }
            return status.equals(wanted) ? info : null;
        }, () -> timedOut);
    }

    // ---- rollback ----

    /**
     * Best effort, each part even if an earlier one failed: force-cancel our mirrors, cancel the
     * migration, resume the source VM if it ran before, remove our NBD nodes, tell the destination
     * to abort. Returns what could not be done.
     */
    private String rollback() {
        List<String> problems = new ArrayList<>();
        if (qmp != null) {
            if (!switchedOver) {
                attempt(problems, "cancel the mirrors", this::cancelMirrors);
            }
            if (migrationStarted && !completed && !(switchedOver && options.postcopy())) {
                attempt(problems, "cancel the migration", this::cancelMigration);
            }
            if (wasRunning && !completed && !(switchedOver && options.postcopy())) {
                attempt(problems, "resume the source VM", this::resumeSource);
            }
            attempt(problems, "remove the NBD nodes", this::removeNbdNodes);
        }
        if (tunnelCut) {
            log.info("the tunnel was cut: the destination undoes its prepare when it sees the session end");
        } else if (control != null) {
            attempt(problems, "abort the destination", () -> Abortable.awaitAnyway("abort",
                control.call(ControlNames.ABORT, reasonArgs(), ROLLBACK_WAIT), ROLLBACK_WAIT.plusSeconds(1)));
        }
        if (switchedOver && options.postcopy() && !completed) {
            problems.add("postcopy had started: the VM's memory is split between both hosts and cannot be rolled back");
        }
        return String.join("; ", problems);
    }

    private ObjectNode reasonArgs() {
        ObjectNode args = JsonLines.object();
        args.put("reason", abortable.reason() != null ? abortable.reason() : "the source rolled back");
        return args;
    }

    /**
     * Force-cancels our mirrors. Mirrors whose NBD requests a destination no longer answers cannot
     * end while the connection lives: after {@link #MIRROR_CANCEL_GRACE} the tunnel is cut, so
     * QEMU fails those requests and the jobs end.
     */
    private void cancelMirrors() {
        for (String job : runningMirrorJobs()) {
            Abortable.awaitAnyway("block-job-cancel", qmp.blockJobCancel(job, true), COMMAND);
        }
        if (rollbackPoll.within(Deadline.after(MIRROR_CANCEL_GRACE), () -> runningMirrorJobs().isEmpty() ? Boolean.TRUE : null)
                != null) {
            return;
        }
        if (tunnel != null) {
            log.warn("mirrors still running {} after a forced cancel: cutting the tunnel to end their NBD requests",
                MIRROR_CANCEL_GRACE);
            tunnelCut = true;
            tunnel.dispose();
        }
        rollbackPoll.until(Deadline.after(ROLLBACK_WAIT), () -> runningMirrorJobs().isEmpty() ? Boolean.TRUE : null,
            () -> "mirror jobs still running after " + ROLLBACK_WAIT + ": " + runningMirrorJobs());
    }

    private Set<String> runningMirrorJobs() {
        Set<String> ours = new HashSet<>();
        for (JsonNode j : Abortable.awaitAnyway("query-block-jobs", qmp.queryBlockJobs(), COMMAND)) {
            String id = j.path("device").asText();
            if (mirrors.stream().anyMatch(m -> m.job().equals(id))) {
                ours.add(id);
            }
        }
        return ours;
    }

    private void cancelMigration() {
        if (!MIGRATION_OVER.contains(migrationStatus())) {
            Abortable.awaitAnyway("migrate_cancel", qmp.execute("migrate_cancel"), COMMAND);
        }
        rollbackPoll.until(Deadline.after(ROLLBACK_WAIT), () -> MIGRATION_OVER.contains(migrationStatus()) ? Boolean.TRUE : null,
            () -> "the migration is still '" + migrationStatus() + "' " + ROLLBACK_WAIT + " after migrate_cancel");
    }

    private String migrationStatus() {
        return Abortable.awaitAnyway("query-migrate", qmp.queryMigrate(), COMMAND).path("status").asText("none");
    }

    private void resumeSource() {
        // QEMU resumes a VM it paused for a migration that then failed or was cancelled, but not
        // always at once; wait briefly before resuming it ourselves.
        Boolean running = rollbackPoll.within(Deadline.after(Duration.ofSeconds(3)),
            () -> Abortable.awaitAnyway("query-status", qmp.queryStatus(), COMMAND).equals("running") ? Boolean.TRUE : null);
        if (running == null) {
            Abortable.awaitAnyway("cont", qmp.execute("cont"), COMMAND);
        }
    }

    private void removeNbdNodes() {
        for (String node : new ArrayList<>(nbdNodes)) {
            Abortable.awaitAnyway("blockdev-del", qmp.execute("blockdev-del", Map.of("node-name", node)), COMMAND);
            nbdNodes.remove(node);
        }
    }

    private static void attempt(List<String> problems, String what, Runnable action) {
        try {
            action.run();
        } catch (RuntimeException e) {
            problems.add("could not " + what + ": " + describe(e));
        }
    }

    // ---- plumbing ----

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
        if (qmp != null) {
            qmp.close().onErrorResume(e -> Mono.empty()).block(Duration.ofSeconds(5));
        }
        PrivateDirs.delete(dir);
    }

    /** A QMP command's result; while the VM is paused, never waiting past {@link #paused}. */
    private <T> T qmp(Mono<T> command) {
        Deadline pause = paused;
        return abortable.await(step, command, pause == null ? COMMAND.plusSeconds(5) : pause.cap(COMMAND));
    }

    private void onEvent(QmpEvent e) {
        if (e.name().equals("BLOCK_JOB_COMPLETED") || e.name().equals("BLOCK_JOB_CANCELLED")) {
            jobEnds.put(e.data().path("device").asText(), e.data());
        }
        if (e.name().equals("MIGRATION") || e.name().startsWith("BLOCK_JOB_")) {
            wakeups.signal();
        }
    }

    private void step(String name) {
        step = name;
        log.debug("step: {}", name);
        observer.onStep(name);
        publish();
    }

    private void publish() {
        observer.onProgress(new MigrationProgress(step, Duration.ofNanos(System.nanoTime() - started), diskProgress,
            ramProgress));
    }

    private static String describe(Throwable t) {
        if (t instanceof Abortable.AbortedException a) {
            return "aborted: " + a.getMessage();
        }
        String m = t.getMessage();
        return m != null && !m.isEmpty() ? m : t.toString();
    }
}
