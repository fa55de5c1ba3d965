package io.migtunnel.qemu.migration.internal;

import com.fasterxml.jackson.databind.JsonNode;
import io.migtunnel.mux.MuxStream;
import io.migtunnel.qemu.migration.QmpLocator;
import io.migtunnel.qemu.migration.internal.ControlMessage.Abort;
import io.migtunnel.qemu.migration.internal.ControlMessage.Aborted;
import io.migtunnel.qemu.migration.internal.ControlMessage.ErrorReply;
import io.migtunnel.qemu.migration.internal.ControlMessage.Failed;
import io.migtunnel.qemu.migration.internal.ControlMessage.Finish;
import io.migtunnel.qemu.migration.internal.ControlMessage.Finished;
import io.migtunnel.qemu.migration.internal.ControlMessage.Prepare;
import io.migtunnel.qemu.migration.internal.ControlMessage.Prepared;
import io.migtunnel.qemu.migration.internal.ControlMessage.Request;
import io.migtunnel.qemu.qmp.QmpClient;
import io.migtunnel.qemu.qmp.QmpEvent;
import io.migtunnel.transport.SessionRoutes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;

/**
 * The destination's end of one control stream: prepares the destination QEMU when the source asks
 * ({@code prepare}), finishes ({@code finish}) or undoes it ({@code abort}, or the stream ending
 * first). Requests are handled one at a time off the event loop; QMP calls block that worker.
 */
public final class IncomingMigration {
    private static final Logger log = LoggerFactory.getLogger(IncomingMigration.class);
    private static final Duration COMMAND = Duration.ofSeconds(30);
    private static final Duration SETTLE = Duration.ofSeconds(60);
    private static final Duration POLL = Duration.ofMillis(200);
    /** Capabilities a source may ask for; anything else is refused. */
    private static final Set<String> CAPABILITIES = Set.of("events", "multifd", "postcopy-ram", "postcopy-blocktime",
        "postcopy-preempt");
    private static final List<String> COMPRESSIONS = List.of("none", "zlib", "zstd");

    private final MuxStream stream;
    private final SessionRoutes routes;
    private final QmpLocator locator;
    private final Set<Path> busy;
    private final Sinks.Many<byte[]> out = Sinks.many().unicast().onBackpressureBuffer();
    /** Signals the destination QEMU's MIGRATION events (and its end), so that {@code finish} looks again at once. */
    private final Wakeups wakeups = new Wakeups();
    /** Waits for QEMU; nothing aborts them but their deadline (the stream's end is handled after the request). */
    private final Poll poll = new Poll(wakeups, POLL, () -> { });

    private QmpClient qmp;
    private Path qmpSocket;
    private Disposable qmpWatch;
    private Path dir;
    private boolean nbdStarted;
    private final List<String> routed = new ArrayList<>();
    private boolean prepareAttempted;
    private volatile boolean prepared;
    private volatile boolean over;

    private IncomingMigration(MuxStream stream, SessionRoutes routes, QmpLocator locator, Set<Path> busy) {
        this.stream = stream;
        this.routes = routes;
        this.locator = locator;
        this.busy = busy;
    }

    /** Serves {@code stream}; {@code busy} holds the QMP sockets of VMs being migrated into (shared, synchronized). */
    public static void serve(MuxStream stream, SessionRoutes routes, QmpLocator locator, Set<Path> busy) {
        IncomingMigration m = new IncomingMigration(stream, routes, locator, busy);
        stream.accept();
        stream.send(m.out.asFlux().map(JsonLines::buffer)).subscribe(null, e -> { });
        JsonLines.decode(stream.inbound())
            .publishOn(Schedulers.boundedElastic(), 1)
            .subscribe(m::onRequest,
                e -> m.endWithoutFinish("control stream failed: " + e.getMessage()),
                () -> m.endWithoutFinish("the source closed the control stream"));
    }

    private void onRequest(JsonNode line) {
        long id = line.path("id").asLong();
        String op = line.path("op").asText();
        ControlMessage reply;
        try {
            reply = ControlCodec.ok(id, answer(ControlCodec.request(line)));
        } catch (RuntimeException e) {
            String why = e.getMessage() != null ? e.getMessage() : e.toString();
            log.warn("control '{}' for {} failed: {}", op, qmpSocket != null ? qmpSocket : "(no VM yet)", why);
            reply = new ErrorReply(id, why);
        }
        send(reply);
    }

    private Object answer(Request<?> request) {
        if (request instanceof Prepare p) {
            return prepareOnce(p);
        }
        if (request instanceof Finish f) {
            return finish(f.resume());
        }
        return abort(((Abort) request).reason());
    }

    // ---- prepare ----

    /** A control stream prepares once: a second prepare is refused and leaves the first alone. */
    private Prepared prepareOnce(Prepare req) {
        if (prepareAttempted) {
            throw new StepFailure("this control stream has already prepared a migration");
        }
        prepareAttempted = true;
        try {
            return prepare(req);
        } catch (RuntimeException e) {
            cleanUp(); // undo what this prepare did before it failed
            throw e;
        }
    }

    private Prepared prepare(Prepare req) {
        String vm = req.vm();
        Path socket = locator.locate(vm);
        synchronized (busy) {
            if (!busy.add(socket)) {
                throw new StepFailure("a migration into VM '" + vm + "' is already in progress");
            }
        }
        qmpSocket = socket;
        qmp = Abortable.awaitAnyway("connect to the destination QMP socket " + socket,
            QmpClient.connect(socket, Duration.ofSeconds(10)), Duration.ofSeconds(15));
        String status = call(qmp.queryStatus());
        if (!status.equals("inmigrate")) {
            throw new StepFailure("the destination VM '" + vm + "' is '" + status
                + "', expected inmigrate (start it with -incoming defer)");
        }
        String incoming = call(qmp.queryMigrate()).path("status").asText("none");
        if (!incoming.equals("none")) {
            throw new StepFailure("the destination VM '" + vm + "' already has an incoming migration ('" + incoming
                + "'); restart it with -incoming defer");
        }
        Map<String, BlockDevices.Disk> disks = new LinkedHashMap<>();
        List<BlockDevices.Disk> present = BlockDevices.list(call(qmp.queryBlock()));
        List<String> problems = new ArrayList<>();
        for (Prepare.Disk w : req.disks()) {
            String id = w.id();
            long size = w.size();
            BlockDevices.Disk d = present.stream().filter(p -> p.id().equals(id)).findFirst().orElse(null);
            if (d == null) {
                problems.add("disk '" + id + "' does not exist (the destination has: "
                    + String.join(", ", BlockDevices.ids(present)) + ")");
            } else if (d.size() != size) {
                problems.add("disk '" + id + "' is " + d.size() + " bytes on the destination but " + size
                    + " on the source");
            } else if (d.readOnly()) {
                problems.add("disk '" + id + "' is read-only on the destination");
            } else {
                disks.put(w.stream(), d);
            }
        }
        if (!problems.isEmpty()) {
            throw new StepFailure("refused before copying anything: " + String.join("; ", problems));
        }
        Map<String, Boolean> caps = new LinkedHashMap<>();
        req.capabilities().forEach((name, on) -> {
            if (!CAPABILITIES.contains(name)) {
                throw new StepFailure("capability '" + name + "' is not allowed");
            }
            caps.put(name, Boolean.TRUE.equals(on));
        });
        boolean preempt = Boolean.TRUE.equals(caps.get(QemuCapabilities.POSTCOPY_PREEMPT));
        if (preempt) {
            call(QemuCapabilities.query(qmp)).require(QemuCapabilities.POSTCOPY_PREEMPT, "destination",
                "postcopy-preempt (--postcopy-preempt)");
        }
        Map<String, Object> params = new LinkedHashMap<>();
        Integer channels = req.parameters().multifdChannels();
        if (channels != null) {
            if (channels < 1 || channels > 255) {
                throw new StepFailure("multifd-channels must be 1 to 255, got " + channels);
            }
            params.put("multifd-channels", channels);
        }
        String compression = req.parameters().multifdCompression();
        if (compression != null) {
            if (!COMPRESSIONS.contains(compression)) {
                throw new StepFailure("multifd-compression must be one of " + COMPRESSIONS + ", got '" + compression + "'");
            }
            params.put("multifd-compression", compression);
        }

        try {
            dir = PrivateDirs.create("migtunnel-dst-");
        } catch (IOException e) {
            throw new StepFailure("cannot create a private directory: " + e.getMessage(), e);
        }
        Path nbd = dir.resolve("nbd.sock");
        Path migration = dir.resolve("migration.sock");
        // nbd-server-start takes the legacy SocketAddress form {type, data}.
        call(qmp.execute("nbd-server-start", Map.of("addr", Map.of("type", "unix", "data", Map.of("path", nbd.toString())))));
        nbdStarted = true;
        restrict(nbd);
        QemuCommands commands = call(QemuCommands.query(qmp));
        int i = 0;
        for (BlockDevices.Disk d : disks.values()) {
            if (commands.exportsWithBlockExportAdd()) {
                call(qmp.execute("block-export-add", Map.of("type", "nbd", "id", "migtunnel-export-" + i++,
                    "node-name", d.node(), "name", d.id(), "writable", true)));
            } else {
                call(qmp.execute("nbd-server-add", Map.of("device", d.device().isEmpty() ? d.node() : d.device(),
                    "name", d.id(), "writable", true)));
            }
        }
        call(qmp.migrateSetCapabilities(caps));
        if (!params.isEmpty()) {
            call(qmp.migrateSetParameters(params));
        }
        call(qmp.execute("migrate-incoming", Map.of("uri", "unix:" + migration)));
        restrict(migration);
        route(ControlNames.MIGRATION, migration);
        if (preempt) { // the same socket: the route acceptor dials it after the main channel's
            route(ControlNames.PREEMPT, migration);
        }
        disks.keySet().forEach(name -> route(name, nbd));
        qmpWatch = qmp.events().subscribe(this::onDestinationEvent, e -> { }, this::onDestinationGone);
        prepared = true;
        log.info("prepared incoming migration of '{}' ({} disks) via {}", vm, disks.size(), dir);
        return new Prepared(disks.values().stream().map(BlockDevices.Disk::id).toList());
    }

    // ---- finish / abort ----

    private Finished finish(boolean resume) {
        if (!prepared) {
            throw new StepFailure("nothing to finish: no migration was prepared");
        }
        Deadline deadline = Deadline.after(SETTLE);
        AtomicReference<String> incoming = new AtomicReference<>("");
        JsonNode done = poll.until(deadline, () -> {
            JsonNode info = call(qmp.queryMigrate());
            incoming.set(info.path("status").asText());
            if (incoming.get().equals("failed")) {
                throw new StepFailure(notCompleted(incoming.get()));
            }
            return incoming.get().equals("completed") ? info : null;
        }, () -> notCompleted(incoming.get()));
        Long blocktime = done.has("postcopy-blocktime") ? done.path("postcopy-blocktime").asLong() : null;
        String status = poll.until(deadline, () -> {
            String s = call(qmp.queryStatus());
            return s.equals("inmigrate") ? null : s;
        }, () -> "the destination VM is still inmigrate " + SETTLE + " after the migration");
        over = true;
        call(qmp.execute("nbd-server-stop"));
        nbdStarted = false;
        if (status.equals("paused") && resume) {
            call(qmp.execute("cont")); // started with -S: the migrated VM, running on the source, runs here now
            status = call(qmp.queryStatus());
        }
        log.info("incoming migration into {} finished: the VM is {}", qmpSocket, status);
        cleanUp();
        return new Finished(status, blocktime);
    }

    private static String notCompleted(String incoming) {
        return "the destination's incoming migration is '" + incoming + "', not completed";
    }

    private Aborted abort(String reason) {
        log.warn("source aborted the migration into {}: {}", qmpSocket, reason);
        cleanUp();
        return new Aborted();
    }

    /** The source closed the stream (or it failed): undo what prepare did unless it finished. */
    private void endWithoutFinish(String why) {
        // On the request worker (publishOn delivers the end after every request): never concurrent with one.
        if (qmpSocket != null && !over) {
            log.warn("incoming migration into {} abandoned: {}", qmpSocket, why);
        }
        cleanUp();
        synchronized (out) {
            out.tryEmitComplete(); // our FIN: the stream closes both ways
        }
    }

    /** Stops the NBD server, drops the routes and the private directory; leaves QEMU itself alone. */
    private synchronized void cleanUp() {
        over = true;
        if (qmpWatch != null) {
            qmpWatch.dispose();
            qmpWatch = null;
        }
        routed.forEach(routes::remove);
        routed.clear();
        if (qmp != null) {
            if (nbdStarted) {
                nbdStarted = false;
                try {
                    call(qmp.execute("nbd-server-stop"));
                } catch (RuntimeException e) {
                    log.warn("could not stop the NBD server of {}: {}", qmpSocket, e.getMessage());
                }
            }
            qmp.close().onErrorResume(e -> Mono.empty()).block(Duration.ofSeconds(5));
            qmp = null;
        }
        PrivateDirs.delete(dir);
        dir = null;
        if (qmpSocket != null) {
            synchronized (busy) {
                busy.remove(qmpSocket);
            }
        }
    }

    private void onDestinationEvent(QmpEvent e) {
        if (e.name().equals("MIGRATION")) {
            wakeups.signal();
        }
        if (e.name().equals("MIGRATION") && e.data().path("status").asText().equals("failed") && !over) {
            fail("the destination QEMU reports the incoming migration failed");
        }
    }

    private void onDestinationGone() {
        wakeups.signal();
        if (!over) {
            fail("the destination QEMU closed its QMP connection (did it exit?)");
        }
    }

    private void fail(String reason) {
        log.warn("incoming migration into {}: {}", qmpSocket, reason);
        send(new Failed(reason));
    }

    // ---- plumbing ----

    private void route(String name, Path socket) {
        routes.add(name, socket);
        routed.add(name);
    }

    private static void restrict(Path socket) {
        try {
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException | UnsupportedOperationException e) {
            log.warn("could not make {} private: {}", socket, e.getMessage());
        }
    }

    private void send(ControlMessage msg) {
        synchronized (out) {
            out.tryEmitNext(ControlCodec.encode(msg));
        }
    }

    private static <T> T call(Mono<T> command) {
        return Abortable.awaitAnyway("QMP command", command, COMMAND);
    }
}
