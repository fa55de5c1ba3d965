package io.migtunnel.qemu.migration.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;

/** The source's end of the control stream, on in-memory stream directions. */
class ControlClientTest {
    private final Sinks.Many<ByteBuf> inbound = Sinks.many().unicast().onBackpressureBuffer();
    private final List<String> failures = new ArrayList<>();

    @Test
    void aCallMadeAsTheStreamEndsFailsAtOnceInsteadOfWaitingItsTimeout() {
        // The stream ends exactly while the call registers itself: after any "has it ended?" check,
        // before its reply slot is in the map. Deterministic: the map's put ends the stream first.
        ConcurrentHashMap<Long, Sinks.One<ControlMessage.OkReply>> pending = new ConcurrentHashMap<>() {
            @Override
            public Sinks.One<ControlMessage.OkReply> put(Long id, Sinks.One<ControlMessage.OkReply> reply) {
                inbound.tryEmitComplete();
                return super.put(id, reply);
            }
        };
        ControlClient client = ControlClient.start(inbound.asFlux(), out -> out.then(), failures::add, pending);

        StepVerifier.create(client.call(new ControlMessage.Finish(true, 0), Duration.ofSeconds(60)))
            .expectErrorMessage("cannot send 'finish': the destination closed the control stream")
            .verify(Duration.ofSeconds(5));
        assertThat(pending).isEmpty();
        assertThat(failures).containsExactly("the destination closed the control stream");
    }

    @Test
    void aCallAfterTheStreamEndedFailsAtOnce() {
        ControlClient client = ControlClient.start(inbound.asFlux(), out -> out.then(), failures::add,
            new ConcurrentHashMap<>());
        inbound.tryEmitComplete();
        StepVerifier.create(client.call(new ControlMessage.Abort("test", 0), Duration.ofSeconds(60)))
            .expectErrorMessage("cannot send 'abort': the destination closed the control stream")
            .verify(Duration.ofSeconds(5));
    }

    @Test
    void aReplyCompletesItsCall() {
        Sinks.Many<ByteBuf> sent = Sinks.many().unicast().onBackpressureBuffer();
        ControlClient client = ControlClient.start(inbound.asFlux(), out -> out.doOnNext(sent::tryEmitNext).then(),
            failures::add, new ConcurrentHashMap<>());
        Mono<ControlMessage.Aborted> call = client.call(new ControlMessage.Abort("test", 0), Duration.ofSeconds(60));
        StepVerifier.create(call)
            .then(() -> inbound.tryEmitNext(JsonLines.buffer("{\"id\":1,\"ok\":{}}\n".getBytes(StandardCharsets.UTF_8))))
            .expectNext(new ControlMessage.Aborted())
            .verifyComplete();
    }

    @Test
    void aMalformedReplyFailsItsCallNamingTheField() {
        ControlClient client = ControlClient.start(inbound.asFlux(), out -> out.then(), failures::add,
            new ConcurrentHashMap<>());
        StepVerifier.create(client.call(new ControlMessage.Finish(true, 0), Duration.ofSeconds(60)))
            .then(() -> inbound.tryEmitNext(JsonLines.buffer("{\"id\":1,\"ok\":{\"status\":[1]}}\n"
                .getBytes(StandardCharsets.UTF_8))))
            .expectErrorSatisfies(e -> assertThat(e).hasMessageStartingWith(
                "destination: malformed answer (Finished): field 'status': "))
            .verify(Duration.ofSeconds(5));
        assertThat(failures).isEmpty();
    }
}
