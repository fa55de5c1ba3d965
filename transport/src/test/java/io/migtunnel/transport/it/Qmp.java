package io.migtunnel.transport.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * Minimal QMP client for tests: one UNIX-socket connection, commands correlated by id, events
 * collected in arrival order. Every wait has a timeout.
 */
final class Qmp implements AutoCloseable {

    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A QMP {@code error} response. */
    static final class QmpException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final String errorClass;
        final String desc;

        QmpException(String command, String errorClass, String desc) {
            super("QMP " + command + " failed: " + errorClass + ": " + desc);
            this.errorClass = errorClass;
            this.desc = desc;
        }
    }

    private final String label;
    private final SocketChannel channel;
    private final CompletableFuture<JsonNode> greeting = new CompletableFuture<>();
    private final Map<Long, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
    private final List<JsonNode> events = new ArrayList<>(); // guarded by itself
    private final AtomicLong ids = new AtomicLong();
    private final Thread reader;
    private volatile Throwable readerFailure;

    private Qmp(String label, SocketChannel channel) {
        this.label = label;
        this.channel = channel;
        this.reader = new Thread(this::readLoop, "qmp-reader-" + label);
        this.reader.setDaemon(true);
    }

    /**
     * Connects (retrying until the socket accepts or {@code timeout} passes), reads the greeting and
     * negotiates capabilities. {@code alive} is polled while retrying so a dead QEMU fails fast.
     */
    static Qmp connect(String label, Path socket, Duration timeout, Await.Condition alive) throws Exception {
        SocketChannel ch = Await.value("QMP socket " + socket, timeout, () -> {
            if (!alive.met()) {
                throw new AssertionError(label + ": process exited before QMP became available");
            }
            SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                c.connect(UnixDomainSocketAddress.of(socket));
                return Optional.of(c);
            } catch (IOException notYet) {
                c.close();
                return Optional.empty();
            }
        });
        Qmp qmp = new Qmp(label, ch);
        qmp.reader.start();
        try {
            JsonNode hello = qmp.greeting.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (!hello.path("QMP").has("version")) {
                throw new AssertionError(label + ": unexpected QMP greeting " + hello);
            }
            qmp.execute("qmp_capabilities");
            return qmp;
        } catch (Exception | AssertionError e) {
            qmp.close();
            throw e;
        }
    }

    /** Convenience for building arguments: {@code args("device", "disk0", "speed", 0)}. */
    static Map<String, Object> args(Object... keyValues) {
        if (keyValues.length % 2 != 0) {
            throw new IllegalArgumentException("odd number of key/values");
        }
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put((String) keyValues[i], keyValues[i + 1]);
        }
        return m;
    }

    JsonNode execute(String command) throws Exception {
        return execute(command, Map.of(), DEFAULT_TIMEOUT);
    }

    JsonNode execute(String command, Map<String, ?> arguments) throws Exception {
        return execute(command, arguments, DEFAULT_TIMEOUT);
    }

    /** Executes and returns the {@code return} value; throws {@link QmpException} on an error reply. */
    JsonNode execute(String command, Map<String, ?> arguments, Duration timeout) throws Exception {
        long id = ids.incrementAndGet();
        ObjectNode msg = JSON.createObjectNode();
        msg.put("execute", command);
        if (!arguments.isEmpty()) {
            msg.set("arguments", JSON.valueToTree(arguments));
        }
        msg.put("id", id);
        CompletableFuture<JsonNode> reply = new CompletableFuture<>();
        pending.put(id, reply);
        if (readerFailure != null) {
            reply.completeExceptionally(readerFailure);
        }
        try {
            send(msg);
            JsonNode r;
            try {
                r = reply.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                throw new AssertionError(label + ": no reply to " + msg + " within " + timeout);
            } catch (ExecutionException e) {
                throw new IOException(label + ": QMP connection failed during " + command, e.getCause());
            }
            if (r.has("error")) {
                throw new QmpException(command, r.path("error").path("class").asText(),
                        r.path("error").path("desc").asText());
            }
            return r.path("return");
        } finally {
            pending.remove(id);
        }
    }

    private void send(JsonNode msg) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap((JSON.writeValueAsString(msg) + "\n").getBytes(StandardCharsets.UTF_8));
        synchronized (channel) {
            while (buf.hasRemaining()) {
                channel.write(buf);
            }
        }
    }

    /**
     * Returns the first event (received at any time since connecting) called {@code name} whose
     * {@code data} matches, waiting up to {@code timeout} for it.
     */
    JsonNode awaitEvent(String name, Predicate<JsonNode> dataMatches, Duration timeout) throws Exception {
        return awaitAnyEvent(List.of(name), dataMatches, timeout);
    }

    /** Waits for the first event among {@code names} whose {@code data} matches. */
    JsonNode awaitAnyEvent(List<String> names, Predicate<JsonNode> dataMatches, Duration timeout)
            throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (events) {
            while (true) {
                for (JsonNode e : events) {
                    if (names.contains(e.path("event").asText()) && dataMatches.test(e.path("data"))) {
                        return e;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError(label + ": no " + names + " event matching within " + timeout
                            + "; events so far: " + events);
                }
                if (readerFailure != null) {
                    throw new IOException(label + ": QMP connection failed while waiting for " + names, readerFailure);
                }
                TimeUnit.NANOSECONDS.timedWait(events, left);
            }
        }
    }

    List<JsonNode> events() {
        synchronized (events) {
            return List.copyOf(events);
        }
    }

    private void readLoop() {
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        try {
            while (channel.read(buf) >= 0) {
                buf.flip();
                while (buf.hasRemaining()) {
                    byte b = buf.get();
                    if (b == '\n') {
                        dispatch(line.toString(StandardCharsets.UTF_8).trim());
                        line.reset();
                    } else {
                        line.write(b);
                    }
                }
                buf.clear();
            }
            fail(new IOException(label + ": QMP connection closed by QEMU"));
        } catch (Throwable t) {
            fail(t);
        }
    }

    private void dispatch(String text) throws IOException {
        if (text.isEmpty()) {
            return;
        }
        JsonNode msg = JSON.readTree(text);
        if (msg.has("QMP")) {
            greeting.complete(msg);
        } else if (msg.has("event")) {
            synchronized (events) {
                events.add(msg);
                events.notifyAll();
            }
        } else if (msg.has("return") || msg.has("error")) {
            CompletableFuture<JsonNode> f = pending.get(msg.path("id").asLong(-1));
            if (f != null) {
                f.complete(msg);
            }
        }
    }

    private void fail(Throwable t) {
        readerFailure = t;
        greeting.completeExceptionally(t);
        pending.values().forEach(f -> f.completeExceptionally(t));
        synchronized (events) {
            events.notifyAll();
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
