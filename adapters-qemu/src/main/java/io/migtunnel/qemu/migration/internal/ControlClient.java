package io.migtunnel.qemu.migration.internal;

import com.fasterxml.jackson.databind.JsonNode;
import io.migtunnel.mux.MuxStream;
import io.migtunnel.qemu.migration.internal.ControlMessage.ErrorReply;
import io.migtunnel.qemu.migration.internal.ControlMessage.Failed;
import io.migtunnel.qemu.migration.internal.ControlMessage.OkReply;
import io.migtunnel.qemu.migration.internal.ControlMessage.Request;
import io.netty.buffer.ByteBuf;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * The source's end of the control stream: requests with ids, replies matched to them, and the
 * destination's {@code failed} events (also raised when the stream ends before {@link #close()}).
 */
final class ControlClient {
    private static final Logger log = LoggerFactory.getLogger(ControlClient.class);
    private final Sinks.Many<byte[]> out = Sinks.many().unicast().onBackpressureBuffer();
    private final Map<Long, Sinks.One<OkReply>> pending;
    private final AtomicLong ids = new AtomicLong();
    private final Consumer<String> onFailure;
    private volatile boolean closing;
    /** Why the stream ended, once it has: later calls fail at once instead of waiting for a reply. */
    private volatile String ended;

    private ControlClient(Consumer<String> onFailure, Map<Long, Sinks.One<OkReply>> pending) {
        this.onFailure = onFailure;
        this.pending = pending;
    }

    /** Starts talking on {@code stream}; {@code onFailure} hears why the destination gave up. */
    static ControlClient start(MuxStream stream, Consumer<String> onFailure) {
        return start(stream.inbound(), stream::send, onFailure, new ConcurrentHashMap<>());
    }

    /** As {@link #start(MuxStream, Consumer)}, on the stream's two directions; {@code pending} holds the calls awaiting a reply. */
    static ControlClient start(Flux<ByteBuf> inbound, Function<Flux<ByteBuf>, Mono<Void>> send, Consumer<String> onFailure,
                               Map<Long, Sinks.One<OkReply>> pending) {
        ControlClient c = new ControlClient(onFailure, pending);
        send.apply(c.out.asFlux().map(JsonLines::buffer)).subscribe(null, e -> c.end("control stream failed: " + e.getMessage()));
        JsonLines.decode(inbound).subscribe(c::onMessage,
            e -> c.end("control stream failed: " + e.getMessage()),
            () -> c.end("the destination closed the control stream"));
        return c;
    }

    /** Sends {@code request} with the next id; emits the reply's answer or fails with the destination's error. */
    <R> Mono<R> call(Request<R> request, Duration timeout) {
        String op = request.op();
        return Mono.defer(() -> {
            long id = ids.incrementAndGet();
            Sinks.One<OkReply> reply = Sinks.one();
            pending.put(id, reply);
            // After the put: end() either sees this call in the map or has set ended before we read it.
            String why = ended;
            if (why != null) {
                pending.remove(id);
                return Mono.error(new StepFailure("cannot send '" + op + "': " + why));
            }
            synchronized (out) {
                out.emitNext(ControlCodec.encode(request.withId(id)), Sinks.EmitFailureHandler.FAIL_FAST);
            }
            return reply.asMono()
                .timeout(timeout, Mono.error(() -> new StepFailure("the destination did not answer '" + op
                    + "' within " + timeout)))
                .map(ok -> ControlCodec.body(ok, request.replyType()))
                .onErrorMap(ControlCodec.MalformedMessage.class, e -> new StepFailure("destination: " + e.getMessage(), e))
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

    private void onMessage(JsonNode line) {
        ControlMessage msg;
        try {
            msg = ControlCodec.fromDestination(line);
        } catch (ControlCodec.MalformedMessage e) {
            Sinks.One<OkReply> reply = line.has("event") ? null : pending.remove(line.path("id").asLong());
            if (reply != null) {
                reply.tryEmitError(new StepFailure("destination: " + e.getMessage(), e));
            } else {
                log.debug("ignoring a control message: {}", e.getMessage());
            }
            return;
        }
        if (msg instanceof Failed f) {
            onFailure.accept(f.reason());
        } else if (msg instanceof ErrorReply e) {
            Sinks.One<OkReply> reply = pending.remove(e.id());
            if (reply != null) {
                reply.tryEmitError(new StepFailure("destination: " + e.error()));
            }
        } else if (msg instanceof OkReply ok) {
            Sinks.One<OkReply> reply = pending.remove(ok.id());
            if (reply != null) {
                reply.tryEmitValue(ok);
            }
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
