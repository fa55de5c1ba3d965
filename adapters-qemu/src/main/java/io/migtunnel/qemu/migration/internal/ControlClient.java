package io.migtunnel.qemu.migration.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.migtunnel.mux.MuxStream;
import io.netty.buffer.ByteBuf;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * The source's end of the control stream: requests with ids, replies matched to them, and the
 * destination's {@code failed} events (also raised when the stream ends before {@link #close()}).
 */
final class ControlClient {
    private final Sinks.Many<byte[]> out = Sinks.many().unicast().onBackpressureBuffer();
    private final Map<Long, Sinks.One<JsonNode>> pending;
    private final AtomicLong ids = new AtomicLong();
    private final Consumer<String> onFailure;
    private volatile boolean closing;
    /** Why the stream ended, once it has: later calls fail at once instead of waiting for a reply. */
    private volatile String ended;

    private ControlClient(Consumer<String> onFailure, Map<Long, Sinks.One<JsonNode>> pending) {
        this.onFailure = onFailure;
        this.pending = pending;
    }

    /** Starts talking on {@code stream}; {@code onFailure} hears why the destination gave up. */
    static ControlClient start(MuxStream stream, Consumer<String> onFailure) {
        return start(stream.inbound(), stream::send, onFailure, new ConcurrentHashMap<>());
    }

    /** As {@link #start(MuxStream, Consumer)}, on the stream's two directions; {@code pending} holds the calls awaiting a reply. */
    static ControlClient start(Flux<ByteBuf> inbound, Function<Flux<ByteBuf>, Mono<Void>> send, Consumer<String> onFailure,
                               Map<Long, Sinks.One<JsonNode>> pending) {
        ControlClient c = new ControlClient(onFailure, pending);
        send.apply(c.out.asFlux().map(JsonLines::buffer)).subscribe(null, e -> c.end("control stream failed: " + e.getMessage()));
        JsonLines.decode(inbound).subscribe(c::onMessage,
            e -> c.end("control stream failed: " + e.getMessage()),
            () -> c.end("the destination closed the control stream"));
        return c;
    }

    /** Sends {@code op} with {@code args}; emits the reply's {@code ok} or fails with the destination's error. */
    Mono<JsonNode> call(String op, ObjectNode args, Duration timeout) {
        return Mono.defer(() -> {
            long id = ids.incrementAndGet();
            Sinks.One<JsonNode> reply = Sinks.one();
            pending.put(id, reply);
            // After the put: end() either sees this call in the map or has set ended before we read it.
            String why = ended;
            if (why != null) {
                pending.remove(id);
                return Mono.error(new StepFailure("cannot send '" + op + "': " + why));
            }
            ObjectNode msg = args.deepCopy();
            msg.put("id", id);
            msg.put("op", op);
            synchronized (out) {
                out.emitNext(JsonLines.encode(msg), Sinks.EmitFailureHandler.FAIL_FAST);
            }
            return reply.asMono()
                .timeout(timeout, Mono.error(() -> new StepFailure("the destination did not answer '" + op
                    + "' within " + timeout)))
                .doFinally(s -> pending.remove(id));
        });
    }

    /** Ends the stream (FIN); later replies are not awaited. */
    void close() {
        closing = true;
        synchronized (out) {
            out.tryEmitComplete();
        }
    }

    private void onMessage(JsonNode msg) {
        if (msg.has("event")) {
            if (ControlNames.FAILED.equals(msg.path("event").asText())) {
                onFailure.accept(msg.path("reason").asText("destination failed"));
            }
            return;
        }
        Sinks.One<JsonNode> reply = pending.remove(msg.path("id").asLong());
        if (reply == null) {
            return;
        }
        if (msg.has("error")) {
            reply.tryEmitError(new StepFailure("destination: " + msg.path("error").asText()));
        } else {
            reply.tryEmitValue(msg.path("ok"));
        }
    }

    private void end(String why) {
        ended = why;
        pending.values().forEach(r -> r.tryEmitError(new StepFailure(why)));
        pending.clear();
        if (!closing) {
            onFailure.accept(why);
        }
    }
}
