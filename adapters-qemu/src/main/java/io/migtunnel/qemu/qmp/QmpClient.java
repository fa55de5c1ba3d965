package io.migtunnel.qemu.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import io.migtunnel.qemu.qmp.internal.QmpSession;
import java.io.FileDescriptor;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A reactive client for one QEMU QMP monitor socket.
 *
 * <p>{@link #connect} reads the greeting and negotiates capabilities. Commands are sent when
 * their {@code Mono} is subscribed and correlated with their reply by id, so they may run
 * concurrently and events may arrive between a command and its reply. A command fails with
 * {@link QmpException} (QEMU's error class and description), {@link QmpTimeoutException}, or
 * {@link QmpDisconnectedException} once the connection has ended (QEMU quit, crashed, sent
 * malformed JSON, or {@link #close()} was called); {@link #events()} then completes.
 *
 * <p>Replies and events are signalled on the client's reader thread: do not block in callbacks
 * (use {@code publishOn} to move work elsewhere).
 */
public final class QmpClient {

    /** Timeout of a command without an explicit one. */
    public static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofSeconds(30);

    private final QmpSession session;

    private QmpClient(QmpSession session) {
        this.session = session;
    }

    /**
     * Connects to the QMP socket at {@code socket}, retrying while it does not exist yet or refuses
     * connections (QEMU starting), then reads the greeting and sends {@code qmp_capabilities}; all
     * within {@code timeout}.
     */
    public static Mono<QmpClient> connect(Path socket, Duration timeout) {
        return QmpSession.connect(socket, timeout).map(QmpClient::new);
    }

    /** The QMP socket this client is connected to. */
    public Path socket() {
        return session.socketPath();
    }

    /** QEMU's greeting: its version and offered capabilities. */
    public QmpGreeting greeting() {
        return session.greeting();
    }

    /** Whether {@link #executeWithFd} works: junixsocket's native library loaded. */
    public boolean supportsFileDescriptorPassing() {
        return session.canPassFileDescriptors();
    }

    /** Runs {@code command} without arguments; emits its {@code return} value. */
    public Mono<JsonNode> execute(String command) {
        return execute(command, Map.of(), DEFAULT_COMMAND_TIMEOUT);
    }

    /** Runs {@code command}; {@code arguments} are serialised with Jackson (maps, lists, JsonNodes...). */
    public Mono<JsonNode> execute(String command, Map<String, ?> arguments) {
        return execute(command, arguments, DEFAULT_COMMAND_TIMEOUT);
    }

    /** Runs {@code command}, failing with {@link QmpTimeoutException} when no reply comes within {@code timeout}. */
    public Mono<JsonNode> execute(String command, Map<String, ?> arguments, Duration timeout) {
        return session.execute(command, arguments, null, timeout);
    }

    /**
     * Runs {@code command} with {@code fd} attached to its message (SCM_RIGHTS), for {@code getfd}
     * and {@code add-fd}. Fails when {@link #supportsFileDescriptorPassing()} is false.
     */
    public Mono<JsonNode> executeWithFd(String command, Map<String, ?> arguments, FileDescriptor fd) {
        Objects.requireNonNull(fd, "fd");
        return session.execute(command, arguments, fd, DEFAULT_COMMAND_TIMEOUT);
    }

    /**
     * Events as they arrive: hot and multicast, each subscriber sees events from when it subscribes.
     * A subscriber without demand misses events (nothing is buffered). Completes on disconnect.
     */
    public Flux<QmpEvent> events() {
        return session.events();
    }

    /**
     * The first event called {@code name} that matches {@code filter}, arriving after this call
     * (listening starts before it returns). Fails with {@link QmpTimeoutException} after
     * {@code timeout} and {@link QmpDisconnectedException} if the connection ends first.
     */
    public Mono<QmpEvent> awaitEvent(String name, Predicate<QmpEvent> filter, Duration timeout) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(filter, "filter");
        String what = "wait for event " + name;
        Mono<QmpEvent> match = events()
                .filter(e -> e.name().equals(name) && filter.test(e))
                .next()
                .switchIfEmpty(Mono.error(() -> session.disconnected(what)))
                .timeout(timeout, Mono.error(() -> new QmpTimeoutException(socket(), what, timeout)))
                .cache();
        match.subscribe(e -> { }, e -> { });
        return match;
    }

    /** Closes the connection: pending and later commands fail, {@link #events()} completes. */
    public Mono<Void> close() {
        return session.close();
    }

    // ---- typed conveniences used by migration; each is one execute ----

    /** {@code query-status}'s {@code status}: e.g. {@code running}, {@code paused}, {@code prelaunch}, {@code postmigrate}. */
    public Mono<String> queryStatus() {
        return execute("query-status").map(r -> r.path("status").asText());
    }

    /** {@code query-block}: the array of block devices. */
    public Mono<JsonNode> queryBlock() {
        return execute("query-block");
    }

    /** {@code query-block-jobs}: the array of running block jobs. */
    public Mono<JsonNode> queryBlockJobs() {
        return execute("query-block-jobs");
    }

    /** {@code query-migrate}: migration status and statistics. */
    public Mono<JsonNode> queryMigrate() {
        return execute("query-migrate");
    }

    /** {@code migrate-set-capabilities}, e.g. {@code {"events": true, "postcopy-ram": false}}. */
    public Mono<Void> migrateSetCapabilities(Map<String, Boolean> capabilities) {
        List<Map<String, Object>> list = new ArrayList<>();
        capabilities.forEach((name, state) -> {
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("capability", name);
            c.put("state", state);
            list.add(c);
        });
        return execute("migrate-set-capabilities", Map.of("capabilities", list)).then();
    }

    /** {@code migrate-set-parameters}, e.g. {@code {"max-bandwidth": 0}}. */
    public Mono<Void> migrateSetParameters(Map<String, Object> parameters) {
        return execute("migrate-set-parameters", parameters).then();
    }

    /** {@code block-job-cancel} of the job on {@code device} (its job id or device name). */
    public Mono<Void> blockJobCancel(String device, boolean force) {
        return execute("block-job-cancel", Map.of("device", device, "force", force)).then();
    }
}
