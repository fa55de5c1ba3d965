package io.migtunnel.bench.migration;

import com.fasterxml.jackson.databind.JsonNode;
import io.migtunnel.qemu.qmp.QmpClient;
import io.migtunnel.qemu.qmp.QmpEvent;
import io.migtunnel.qemu.vm.BusyGuest;
import io.migtunnel.qemu.vm.DiskImages;
import io.migtunnel.qemu.vm.GuestCheck;
import io.migtunnel.qemu.vm.GuestStatus;
import io.migtunnel.qemu.vm.QemuVm;
import io.migtunnel.testing.Await;
import io.migtunnel.testing.ListeningSockets;
import io.migtunnel.testing.relay.SocketRelay;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import reactor.core.publisher.Mono;

/**
 * One migration of the busy guest with two disks between two local QEMUs, every stream through
 * one {@link SocketRelay}: the QMP sequence of {@code migtunnel migrate} (and libvirt), run the
 * same way whatever carries the bytes. The destination's NBD server exports both disks; the source
 * mirrors them ({@code blockdev-add} of an NBD node, {@code blockdev-mirror}), then migrates RAM
 * with {@code pause-before-switchover}, completes the mirrors in that pause and lets QEMU switch over. Afterwards the destination must run on, and
 * its RAM and disks must pass {@link GuestCheck}; a run that fails it fails the bench.
 */
final class MigrationRun {
    private static final Duration COMMAND = Duration.ofSeconds(60);
    private static final Duration WAIT = Duration.ofSeconds(120);
    private static final long POLL_MILLIS = 20;
    private static final List<String> DISKS = List.of("disk0", "disk1");

    private final Scenario scenario;
    private final Path dir;
    private final Targets targets;

    /** Runs {@code scenario} in {@code dir}; the destination QEMU listens on {@code targets}, which the relay joins. */
    MigrationRun(Scenario scenario, Path dir, Targets targets) {
        this.scenario = scenario;
        this.dir = dir;
        this.targets = targets;
    }

    /** Where the destination QEMU listens (its migration socket and its NBD server's), and the competing NBD server. */
    record Targets(Path migration, Path nbd, Path bulk) {
        /** The relay's routes: {@code migration}, {@code nbd} (every disk's connection) and {@link CompetingNbd#NAME}. */
        Map<String, Path> routes() {
            Map<String, Path> routes = new LinkedHashMap<>();
            routes.put("migration", migration);
            routes.put("nbd", nbd);
            routes.put(CompetingNbd.NAME, bulk);
            return routes;
        }
    }

    /** Migrates through {@code relay}, started with {@link Targets#routes()}. */
    RunResult run(SocketRelay relay) throws Exception {
        Files.createDirectories(dir);
        BusyGuest guest = scenario.guest();
        List<Path> originals = new ArrayList<>();
        List<Path> images = new ArrayList<>();
        QemuVm.Builder src = QemuVm.builder("src", dir).memoryMiB(scenario.memoryMiB()).busyGuest(guest);
        QemuVm.Builder dst = QemuVm.builder("dst", dir).memoryMiB(scenario.memoryMiB()).busyGuest(guest).incomingDefer();
        for (int i = 0; i < DISKS.size(); i++) {
            String id = DISKS.get(i);
            Path image = DiskImages.randomQcow2(dir.resolve("src-" + id + ".qcow2"), scenario.diskBytes(), 0x5eed + i);
            originals.add(Files.copy(image, dir.resolve("original-" + id + ".qcow2")));
            images.add(DiskImages.emptyQcow2(dir.resolve("dst-" + id + ".qcow2"), scenario.diskBytes()));
            src.disk(id, image);
            dst.disk(id, images.get(i));
        }
        try (QemuVm source = src.start(); QemuVm destination = dst.start()) {
            source.awaitGuest("its first sweep", WAIT, s -> s.sweep() >= 2);
            RunResult result = migrate(source, destination, relay);
            if (!result.converged()) {
                return result;
            }
            return result.verified(verify(source, destination, originals, images));
        } catch (Exception | AssertionError e) {
            throw new IllegalStateException(scenario.name() + " through " + relay + " failed: " + e.getMessage()
                + "\n" + relay.diagnostics(), e);
        }
    }

    private RunResult migrate(QemuVm source, QemuVm destination, SocketRelay relay) throws Exception {
        QmpClient sq = source.qmp();
        QmpClient dq = destination.qmp();
        Path nbd = targets.nbd();
        Path migration = targets.migration();
        execute(dq, "nbd-server-start", Map.of("addr", Map.of("type", "unix", "data", Map.of("path", nbd.toString()))));
        for (String disk : DISKS) {
            execute(dq, "block-export-add", Map.of("type", "nbd", "id", "export-" + disk, "node-name", disk, "writable", true));
        }
        configure(dq);
        execute(dq, "migrate-incoming", Map.of("uri", "unix:" + migration));
        Await.until("the destination's migration socket", WAIT, () -> ListeningSockets.unix(migration));

        long start = System.nanoTime();
        for (String disk : DISKS) {
            execute(sq, "blockdev-add", Map.of("driver", "nbd", "node-name", "nbd-" + disk,
                "server", Map.of("type", "unix", "path", relay.exposed("nbd").toString()), "export", disk));
            execute(sq, "blockdev-mirror", Map.of("job-id", job(disk), "device", disk, "target", "nbd-" + disk,
                "sync", "full"));
        }
        Await.until("every mirror to be ready", WAIT, () -> {
            JsonNode jobs = execute(sq, "query-block-jobs", Map.of());
            int ready = 0;
            for (JsonNode j : jobs) {
                ready += j.path("ready").asBoolean() ? 1 : 0;
            }
            if (jobs.size() < DISKS.size()) {
                throw new IllegalStateException("a mirror ended before it was ready: " + jobs);
            }
            return ready == DISKS.size();
        });
        double mirrorSeconds = seconds(System.nanoTime() - start);

        configure(sq);
        execute(sq, "migrate-set-parameters", Map.of("max-bandwidth", scenario.maxBandwidth()));
        try (CompetingNbd competing = scenario.competingNbd()
            ? CompetingNbd.start(dir.resolve("competing"), targets.bulk(), relay.exposed(CompetingNbd.NAME)) : null) {
            return migrateRam(source, destination, relay, start, mirrorSeconds, competing);
        }
    }

    private RunResult migrateRam(QemuVm source, QemuVm destination, SocketRelay relay, long start, double mirrorSeconds,
                                 CompetingNbd competing) throws Exception {
        QmpClient sq = source.qmp();
        QmpClient dq = destination.qmp();
        GuestStatus guestAtStart = source.guestStatus();
        execute(sq, "migrate", Map.of("uri", "unix:" + relay.exposed("migration")));
        long ramStart = System.nanoTime();
        double guestRate = -1;
        long switchedAt = -1;
        boolean mirrorsDone = false;
        JsonNode info;
        // Past the limit an active precopy is cancelled below; any other state gets WAIT more at most.
        long deadline = ramStart + scenario.limit().plus(WAIT).toNanos();
        while (true) {
            info = execute(sq, "query-migrate", Map.of());
            String status = info.path("status").asText();
            if (status.equals("completed")) {
                break;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("the migration did not complete within " + scenario.limit().plus(WAIT)
                    + "; last: " + info);
            }
            if (status.equals("failed") || status.equals("cancelled")) {
                throw new IllegalStateException("the source's migration " + status + ": " + info);
            }
            if (execute(dq, "query-migrate", Map.of()).path("status").asText().equals("failed")) {
                throw new IllegalStateException("the destination's migration failed; " + destination.log());
            }
            if (status.equals("pre-switchover") && !mirrorsDone) {
                guestRate = guestRate(source, guestAtStart, ramStart);
                completeMirrors(sq);
                mirrorsDone = true;
                execute(sq, "migrate-continue", Map.of("state", "pre-switchover"));
            } else if (status.equals("active") && switchedAt < 0 && (scenario.postcopyAfterFirstPass()
                && info.path("ram").path("dirty-sync-count").asLong() >= 2 || scenario.postcopyAfter() != null
                && System.nanoTime() - ramStart >= scenario.postcopyAfter().toNanos())) {
                execute(sq, "migrate-start-postcopy", Map.of());
                switchedAt = System.nanoTime();
            } else if (status.equals("active") && System.nanoTime() - ramStart > scenario.limit().toNanos()) {
                long passes = info.path("ram").path("dirty-sync-count").asLong();
                long bytes = info.path("ram").path("transferred").asLong();
                guestRate = guestRate(source, guestAtStart, ramStart);
                cancel(sq);
                return new RunResult(relay.toString(), scenario.name(), false, mirrorSeconds,
                    scenario.limit().toSeconds(), -1, -1, passes, bytes, -1, -1, guestRate, competingRate(competing),
                    "not converged within " + scenario.limit().toSeconds() + " s");
            }
            Thread.sleep(POLL_MILLIS); // query-migrate's polling interval, as migtunnel migrate polls
        }
        long done = System.nanoTime();
        if (competing != null) {
            competing.stop();
        }
        // QEMU reports "completed" a moment before it fills in total-time and downtime.
        info = Await.until("the source's total-time", WAIT, () -> execute(sq, "query-migrate", Map.of()),
            i -> i.path("total-time").asLong() > 0);
        long blocktime = -1;
        if (switchedAt >= 0) {
            JsonNode incoming = Await.until("the destination to complete", WAIT, () -> execute(dq, "query-migrate", Map.of()),
                i -> i.path("status").asText().equals("completed"));
            blocktime = incoming.path("postcopy-blocktime").asLong(-1);
        }
        return new RunResult(relay.toString(), scenario.name(), true, mirrorSeconds,
            info.path("total-time").asLong() / 1000.0, seconds(done - start), info.path("downtime").asLong(),
            info.path("ram").path("dirty-sync-count").asLong(), info.path("ram").path("transferred").asLong(),
            switchedAt < 0 ? -1 : seconds(done - switchedAt), blocktime, guestRate, competingRate(competing), "");
    }

    private static double competingRate(CompetingNbd competing) {
        return competing == null ? -1 : competing.megabytesPerSecond();
    }

    /** How fast the guest dirtied its pages from {@code start} (at {@code since}) until now, MiB/s. */
    private static double guestRate(QemuVm source, GuestStatus start, long since) throws Exception {
        long pages = source.guestStatus().pagesDirtied() - start.pagesDirtied();
        return pages * (double) BusyGuest.PAGE_BYTES / (1 << 20) / seconds(System.nanoTime() - since);
    }

    /** The capabilities and parameters both sides need (the destination's before migrate-incoming). */
    private void configure(QmpClient qmp) {
        Map<String, Boolean> caps = new LinkedHashMap<>();
        caps.put("events", true);
        caps.put("pause-before-switchover", true);
        if (scenario.postcopy()) {
            caps.put("postcopy-ram", true);
            caps.put("postcopy-blocktime", true);
        }
        if (scenario.preempt()) {
            caps.put("postcopy-preempt", true);
        }
        if (scenario.multifd() > 0) {
            caps.put("multifd", true);
        }
        if (scenario.xbzrleCache() > 0) {
            caps.put("xbzrle", true);
        }
        if (scenario.autoConverge()) {
            caps.put("auto-converge", true);
        }
        qmp.migrateSetCapabilities(caps).block(COMMAND);
        Map<String, Object> parameters = new LinkedHashMap<>();
        if (scenario.multifd() > 0) {
            parameters.put("multifd-channels", scenario.multifd());
            parameters.put("multifd-compression", scenario.compression());
        }
        if (scenario.xbzrleCache() > 0) {
            parameters.put("xbzrle-cache-size", scenario.xbzrleCache());
        }
        if (!parameters.isEmpty()) {
            qmp.migrateSetParameters(parameters).block(COMMAND);
        }
    }

    /** Completes every mirror in the switch-over pause: in sync, cancelling finishes the copy without pivoting. */
    private void completeMirrors(QmpClient sq) {
        List<Mono<QmpEvent>> ends = new ArrayList<>();
        for (String disk : DISKS) {
            ends.add(sq.awaitEvent("BLOCK_JOB_COMPLETED", e -> e.data().path("device").asText().equals(job(disk)), WAIT));
            execute(sq, "block-job-cancel", Map.of("device", job(disk)));
        }
        for (Mono<QmpEvent> end : ends) {
            QmpEvent e = end.block(WAIT.plusSeconds(5));
            if (e.data().has("error")) {
                throw new IllegalStateException("a mirror ended with an error: " + e);
            }
        }
    }

    private void cancel(QmpClient sq) throws Exception {
        execute(sq, "migrate_cancel", Map.of());
        Await.until("the cancelled migration to end", WAIT, () -> execute(sq, "query-migrate", Map.of()),
            i -> i.path("status").asText().equals("cancelled"));
    }

    /**
     * Proves the switch-over lost nothing: the guest runs on in the destination, whose RAM (after
     * {@code stop}) and disks (after QEMU quits) hold a state the guest reached.
     */
    private String verify(QemuVm source, QemuVm destination, List<Path> originals, List<Path> images) throws Exception {
        BusyGuest guest = scenario.guest();
        GuestStatus atSwitchover = source.guestStatus();
        GuestStatus onward = destination.awaitGuestProgress(WAIT);
        destination.qmp().execute("stop").block(COMMAND);
        GuestStatus last = destination.guestStatus();
        GuestCheck.Report ram = GuestCheck.ram(destination, guest);
        destination.quit();
        source.quit();
        List<String> problems = new ArrayList<>(ram.problems());
        for (int i = 0; i < images.size(); i++) {
            problems.addAll(GuestCheck.disk(images.get(i), originals.get(i), i, guest, last.lastWrite(i)).problems());
        }
        if (!problems.isEmpty() || onward.pagesDirtied() <= atSwitchover.pagesDirtied()) {
            throw new IllegalStateException("the destination does not hold the guest's state: " + problems);
        }
        return "ok: sweep " + atSwitchover.sweep() + " at the switch-over, " + (last.pagesDirtied() - atSwitchover.pagesDirtied())
            + " pages dirtied on the destination";
    }

    private static JsonNode execute(QmpClient qmp, String command, Map<String, ?> arguments) {
        return qmp.execute(command, arguments, COMMAND).block(COMMAND.plusSeconds(5));
    }

    private static double seconds(long nanos) {
        return nanos / 1e9;
    }

    private static String job(String disk) {
        return "mirror-" + disk;
    }
}
