package io.migtunnel.qemu.qmp.internal;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import io.migtunnel.qemu.qmp.QmpDisconnectedException;
import io.migtunnel.qemu.qmp.QmpEvent;
import io.migtunnel.qemu.qmp.QmpException;
import io.migtunnel.qemu.qmp.QmpGreeting;
import io.migtunnel.qemu.qmp.QmpTimeoutException;
import java.io.FileDescriptor;
import java.io.IOException;
import java.net.SocketException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;
import reactor.util.retry.Retry;

/**
 * One QMP connection: a daemon reader thread parses QEMU's messages, completes the pending
 * command with the reply's id and multicasts events; commands are written under a lock.
 *
 * <p>Replies and events are signalled on the reader thread: subscribers must not block there.
 * When the connection ends, every pending and later command fails with
 * {@link QmpDisconnectedException} and the event flux completes.
 */
public final class QmpSession {

    private static final Logger log = LoggerFactory.getLogger(QmpSession.class);
    private static final Duration JOIN_TIMEOUT = Duration.ofSeconds(5);

    /** A command waiting for its reply. */
    private record Pending(String command, Sinks.One<JsonNode> reply) {}

    private final Path socketPath;
    private final QmpSocket socket;
    private final Object writeLock = new Object();
    private final AtomicLong ids = new AtomicLong();
    private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
    private final Sinks.One<QmpGreeting> greeting = Sinks.one();
    /** Emitted to by the reader thread only. */
    private final Sinks.Many<QmpEvent> events = Sinks.many().multicast().directBestEffort();
    private final Thread reader;
    private volatile boolean closing;
    /** Why the connection ended; null while it is up. Set once, before pending commands are failed. */
    private volatile Ended ended;
    private volatile QmpGreeting negotiated;

    private record Ended(String reason, Throwable cause) {}

    private QmpSession(Path socketPath, QmpSocket socket) {
        this.socketPath = socketPath;
        this.socket = socket;
        this.reader = new Thread(this::readLoop, "qmp-reader-" + socketPath.getFileName());
        this.reader.setDaemon(true);
    }

    /**
     * Connects (retrying while the socket is missing or refuses, as while QEMU starts), reads the
     * greeting and negotiates capabilities, all within {@code timeout}.
     */
    public static Mono<QmpSession> connect(Path socketPath, Duration timeout) {
        Objects.requireNonNull(socketPath, "socketPath");
        Objects.requireNonNull(timeout, "timeout");
        AtomicReference<Throwable> lastFailure = new AtomicReference<>();
        Mono<QmpSocket> open = Mono.fromCallable(() -> QmpSocket.connect(socketPath))
                .subscribeOn(Schedulers.boundedElastic())
                .doOnError(lastFailure::set)
                .retryWhen(Retry.backoff(Long.MAX_VALUE, Duration.ofMillis(10)).maxBackoff(Duration.ofMillis(200))
                        .filter(IOException.class::isInstance));
        return open.map(s -> new QmpSession(socketPath, s).start())
                .flatMap(session -> session.handshake(timeout)
                        .onErrorResume(e -> {
                            session.closeNow();
                            return Mono.error(e);
                        })
                        .doOnCancel(session::closeNow))
                .timeout(timeout, Mono.error(() -> new QmpException("qmp_capabilities",
                        "QMP connection to " + socketPath + " not established within " + timeout
                                + (lastFailure.get() != null ? ": " + lastFailure.get().getMessage() : ""),
                        lastFailure.get())));
    }

    private QmpSession start() {
        reader.start();
        return this;
    }

    private Mono<QmpSession> handshake(Duration timeout) {
        return greeting.asMono()
                .flatMap(g -> execute("qmp_capabilities", Map.of(), null, timeout).doOnNext(r -> negotiated = g))
                .thenReturn(this);
    }

    public Path socketPath() {
        return socketPath;
    }

    /** The greeting; available once {@link #connect} has emitted this session. */
    public QmpGreeting greeting() {
        return negotiated;
    }

    public boolean canPassFileDescriptors() {
        return socket.canPassFileDescriptors();
    }

    /**
     * Sends the command on subscription and emits its {@code return} value; fails with
     * {@link QmpException} on an error reply, {@link QmpTimeoutException} after {@code timeout},
     * {@link QmpDisconnectedException} when the connection ends first.
     */
    public Mono<JsonNode> execute(String command, Map<String, ?> arguments, FileDescriptor fd, Duration timeout) {
        Objects.requireNonNull(command, "command");
        Objects.requireNonNull(timeout, "timeout");
        return Mono.defer(() -> {
            long id = ids.incrementAndGet();
            byte[] message;
            try {
                message = QmpJson.command(command, arguments, id);
            } catch (IOException e) {
                return Mono.error(new IllegalArgumentException("QMP " + command + ": arguments are not JSON", e));
            }
            Sinks.One<JsonNode> reply = Sinks.one();
            pending.put(id, new Pending(command, reply));
            // Checked after registering: terminate() sets 'ended' before failing what is registered.
            if (ended != null) {
                pending.remove(id);
                return Mono.error(disconnected(command));
            }
            try {
                synchronized (writeLock) {
                    socket.write(message, fd);
                }
            } catch (IOException e) {
                pending.remove(id);
                return Mono.error(ended != null ? disconnected(command)
                        : new QmpException(command, "QMP " + command + " failed: cannot send on " + socketPath
                                + ": " + e.getMessage(), e));
            }
            return reply.asMono()
                    .timeout(timeout, Mono.error(() -> new QmpTimeoutException(socketPath, command, timeout)))
                    .doFinally(signal -> pending.remove(id));
        }).flatMap(response -> {
            JsonNode error = response.get("error");
            if (error != null) {
                return Mono.error(new QmpException(command, error.path("class").asText(),
                        error.path("desc").asText()));
            }
            return Mono.just(response.path("return"));
        });
    }

    /** Events from subscription on; completes when the connection ends. */
    public Flux<QmpEvent> events() {
        return events.asFlux();
    }

    /** The exception for {@code what} (a command, or a wait) after the connection ended. */
    public QmpDisconnectedException disconnected(String what) {
        Ended e = ended;
        return e == null
                ? new QmpDisconnectedException(socketPath, what, "is closed", null)
                : new QmpDisconnectedException(socketPath, what, e.reason(), e.cause());
    }

    /** Closes the socket and waits (briefly) for the reader thread to finish. */
    public Mono<Void> close() {
        return Mono.<Void>fromRunnable(() -> {
            closeNow();
            if (Thread.currentThread() != reader) {
                try {
                    reader.join(JOIN_TIMEOUT.toMillis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }).subscribeOn(Schedulers.boundedElastic());
    }

    private void closeNow() {
        closing = true;
        socket.close();
    }

    private void readLoop() {
        String reason;
        Throwable cause = null;
        try (JsonParser parser = QmpJson.parser(socket.input())) {
            JsonToken token;
            while ((token = parser.nextToken()) != null) {
                if (token != JsonToken.START_OBJECT) {
                    throw new IOException("QMP message is not a JSON object: starts with " + token);
                }
                dispatch(QmpJson.MAPPER.readTree(parser));
            }
            reason = closing ? "closed by the client" : "closed by QEMU (end of stream)";
        } catch (JsonProcessingException e) {
            reason = closing ? "closed by the client" : "broken: malformed JSON from QEMU: " + e.getOriginalMessage();
            cause = e;
        } catch (SocketException e) {
            // QEMU exiting (e.g. after quit) often resets the connection instead of closing it.
            reason = closing ? "closed by the client"
                    : isReset(e) ? "closed by QEMU (connection reset)" : "broken: " + e.getMessage();
            cause = closing ? null : e;
        } catch (IOException | RuntimeException e) {
            reason = closing ? "closed by the client" : "broken: " + e.getMessage();
            cause = closing ? null : e;
        }
        terminate(reason, cause);
    }

    private static boolean isReset(SocketException e) {
        return e.getMessage() != null && e.getMessage().toLowerCase(Locale.ROOT).contains("connection reset");
    }

    private void dispatch(JsonNode msg) throws IOException {
        if (msg.has("return") || msg.has("error")) {
            JsonNode id = msg.get("id");
            Pending p = id != null && id.canConvertToLong() ? pending.remove(id.asLong()) : null;
            if (p != null) {
                p.reply().tryEmitValue(msg);
            } else {
                log.warn("QMP {}: reply for no pending command (late after a timeout?): {}",
                        socketPath, QmpJson.abbreviate(msg));
            }
        } else if (msg.has("event")) {
            events.tryEmitNext(QmpJson.event(msg));
        } else if (msg.has("QMP")) {
            greeting.tryEmitValue(QmpJson.greeting(msg));
        } else {
            log.warn("QMP {}: ignoring unknown message {}", socketPath, QmpJson.abbreviate(msg));
        }
    }

    private void terminate(String reason, Throwable cause) {
        ended = new Ended(reason, cause);
        if (!closing) {
            log.debug("QMP {}: connection {}", socketPath, reason, cause);
        }
        socket.close();
        greeting.tryEmitError(disconnected("qmp_capabilities"));
        for (Long id : pending.keySet()) {
            Pending p = pending.remove(id);
            if (p != null) {
                p.reply().tryEmitError(disconnected(p.command()));
            }
        }
        events.tryEmitComplete();
    }
}
