package io.migtunnel.qemu.migration.internal;

import com.fasterxml.jackson.databind.JsonNode;
import io.migtunnel.qemu.migration.MigrationOptions;
import io.migtunnel.qemu.migration.MigrationProgress;
import io.migtunnel.qemu.migration.MigrationSummary;
import io.migtunnel.qemu.qmp.QmpEvent;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The disk mirrors of one source migration: each disk mirrored ({@code blockdev-mirror} into an NBD
 * node, or {@code drive-mirror}) into the socket its tunnel stream exposes, their progress, their
 * completion while the VM is paused, and their end in a rollback.
 */
final class DiskMirrors {
    private final SourceQemu qemu;
    private final MigrationOptions options;
    private final SourceProgress progress;
    private final List<Mirror> mirrors = new ArrayList<>();
    private final List<String> nbdNodes = new ArrayList<>();
    /** The last event of each job that ended ({@code BLOCK_JOB_COMPLETED}/{@code _CANCELLED}), by job id. */
    private final Map<String, JsonNode> jobEnds = new ConcurrentHashMap<>();

    /** A disk, its mirror job, and the tunnel stream and socket its NBD target is reached by. */
    record Mirror(BlockDevices.Disk disk, String job, String stream, Path socket) {
    }

    DiskMirrors(SourceQemu qemu, MigrationOptions options, SourceProgress progress) {
        this.qemu = qemu;
        this.options = options;
        this.progress = progress;
    }

    /** Plans the mirror of {@code disk} through a socket in {@code dir}; returns it (nothing runs yet). */
    Mirror add(BlockDevices.Disk disk, Path dir) {
        int i = mirrors.size();
        Mirror m = new Mirror(disk, "migtunnel-mirror-" + i, ControlNames.nbd(disk.id(), i), dir.resolve("nbd-" + i + ".sock"));
        mirrors.add(m);
        return m;
    }

    List<Mirror> all() {
        return List.copyOf(mirrors);
    }

    /** Notes how a job ended; the caller wakes the polls. */
    void onEvent(QmpEvent e) {
        if (e.name().equals("BLOCK_JOB_COMPLETED") || e.name().equals("BLOCK_JOB_CANCELLED")) {
            jobEnds.put(e.data().path("device").asText(), e.data());
        }
    }

    /** Starts every mirror, with {@code blockdev-mirror} when QEMU has it. */
    void start(QemuCommands commands) {
        boolean blockdev = commands.mirrorsWithBlockdev();
        for (Mirror m : mirrors) {
            start(m, blockdev);
        }
    }

    private void start(Mirror m, boolean blockdevMirror) {
        if (blockdevMirror) {
            String node = "migtunnel-nbd-" + mirrors.indexOf(m);
            qemu.call(qemu.client().execute("blockdev-add", Map.of("driver", "nbd", "node-name", node,
                "server", Map.of("type", "unix", "path", m.socket().toString()), "export", m.disk().id())));
            nbdNodes.add(node);
            Map<String, Object> args = new LinkedHashMap<>(Map.of("job-id", m.job(), "device", m.disk().node(),
                "target", node, "sync", "full"));
            limit(args);
            qemu.call(qemu.client().execute("blockdev-mirror", args));
        } else {
            // QEMU without blockdev-mirror: drive-mirror opens the NBD target itself.
            Map<String, Object> args = new LinkedHashMap<>(Map.of("job-id", m.job(),
                "device", m.disk().device().isEmpty() ? m.disk().node() : m.disk().device(),
                "target", "nbd+unix:///" + m.disk().id() + "?socket=" + m.socket(),
                "format", "raw", "mode", "existing", "sync", "full"));
            limit(args);
            qemu.call(qemu.client().execute("drive-mirror", args));
        }
    }

    private void limit(Map<String, Object> args) {
        if (options.mirrorBandwidth() > 0) {
            args.put("speed", options.mirrorBandwidth());
        }
    }

    /** Waits until every mirror has caught up ({@code ready}); a mirror that ends first is a failure. */
    void awaitReady() {
        qemu.poll().until(Deadline.after(options.mirrorTimeout()), () -> allReady() ? Boolean.TRUE : null,
            () -> "the mirrors did not catch up within " + options.mirrorTimeout());
    }

    /** Reads the mirrors (publishing their progress); fails if one of them has ended. */
    void checkRunning() {
        Map<String, JsonNode> ours = read();
        for (Mirror m : mirrors) {
            if (!ours.containsKey(m.job())) {
                throw ended(m);
            }
        }
    }

    /**
     * With the VM paused: ends each mirror in sync ({@code block-job-cancel}, so the source never
     * pivots onto the copy) and waits for all of them, within the pause; returns the bytes each copied.
     */
    List<MigrationSummary.Disk> complete() {
        for (Mirror m : mirrors) {
            qemu.call(qemu.client().blockJobCancel(m.job(), false));
        }
        qemu.poll().until(qemu.paused(), () -> read().isEmpty() ? Boolean.TRUE : null,
            () -> "the disk mirrors did not complete within " + options.switchoverTimeout()
                + " of the VM's pause (switch-over timeout)");
        List<MigrationSummary.Disk> bytes = new ArrayList<>();
        for (Mirror m : mirrors) {
            JsonNode end = jobEnds.get(m.job());
            if (end != null && end.has("error")) {
                throw new StepFailure("the mirror of disk '" + m.disk().id() + "' failed: " + end.path("error").asText());
            }
            bytes.add(new MigrationSummary.Disk(m.disk().id(), end == null ? 0 : end.path("offset").asLong()));
        }
        return bytes;
    }

    /** Our jobs QEMU still runs, by id; publishes every mirror's progress. */
    private Map<String, JsonNode> read() {
        Map<String, JsonNode> running = new LinkedHashMap<>();
        for (JsonNode j : qemu.call(qemu.client().queryBlockJobs())) {
            running.put(j.path("device").asText(), j);
        }
        List<MigrationProgress.Disk> reading = new ArrayList<>();
        Map<String, JsonNode> ours = new LinkedHashMap<>();
        for (Mirror m : mirrors) {
            JsonNode j = running.get(m.job());
            if (j != null) {
                ours.put(m.job(), j);
                reading.add(new MigrationProgress.Disk(m.disk().id(), j.path("offset").asLong(), j.path("len").asLong(),
                    j.path("ready").asBoolean()));
            } else {
                JsonNode end = jobEnds.get(m.job());
                long copied = end == null ? 0 : end.path("offset").asLong();
                reading.add(new MigrationProgress.Disk(m.disk().id(), copied, end == null ? 0 : end.path("len").asLong(),
                    true));
            }
        }
        progress.disks(reading);
        return ours;
    }

    private boolean allReady() {
        Map<String, JsonNode> ours = read();
        boolean ready = true;
        for (Mirror m : mirrors) {
            JsonNode j = ours.get(m.job());
            if (j == null) {
                throw ended(m);
            }
            ready &= j.path("ready").asBoolean();
        }
        return ready;
    }

    private StepFailure ended(Mirror m) {
        JsonNode end = jobEnds.get(m.job());
        String why = end != null && end.has("error") ? end.path("error").asText() : "the job ended unexpectedly";
        return new StepFailure("the mirror of disk '" + m.disk().id() + "' failed: " + why);
    }

    // ---- for the rollback: abort-proof ----

    /** Force-cancels every mirror QEMU still runs. */
    void forceCancel() {
        for (String job : runningJobs()) {
            SourceQemu.callAnyway("block-job-cancel", qemu.client().blockJobCancel(job, true));
        }
    }

    /** The ids of our jobs that QEMU still runs. */
    Set<String> runningJobs() {
        Set<String> ours = new HashSet<>();
        for (JsonNode j : SourceQemu.callAnyway("query-block-jobs", qemu.client().queryBlockJobs())) {
            String id = j.path("device").asText();
            if (mirrors.stream().anyMatch(m -> m.job().equals(id))) {
                ours.add(id);
            }
        }
        return ours;
    }

    /** Removes the NBD nodes the mirrors wrote into ({@code blockdev-del}). */
    void removeNbdNodes() {
        for (String node : new ArrayList<>(nbdNodes)) {
            SourceQemu.callAnyway("blockdev-del", qemu.client().execute("blockdev-del", Map.of("node-name", node)));
            nbdNodes.remove(node);
        }
    }
}
