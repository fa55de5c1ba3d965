package io.migtunnel.qemu.migration.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

/** The control stream's line framing: lines split anywhere, bad lines fail the stream, buffers released. */
class JsonLinesTest {
    private final List<ByteBuf> given = new ArrayList<>();

    private ByteBuf buf(String s) {
        ByteBuf b = ByteBufAllocator.DEFAULT.buffer().writeBytes(s.getBytes(StandardCharsets.UTF_8));
        given.add(b);
        return b;
    }

    /** Buffers created lazily, as a stream delivers them: those never delivered are not ours to release. */
    private void assertAllReleased() {
        assertThat(given).allSatisfy(b -> assertThat(b.refCnt()).isZero());
    }

    @Test
    void linesSplitAcrossBuffersAndSeveralPerBufferDecode() {
        Flux<ByteBuf> in = Flux.just(buf("{\"id\":1,\"op\":\"pre"), buf("pare\"}\n{\"id\":2}\n\n{\"event\""),
            buf(":\"failed\"}\n"));
        StepVerifier.create(JsonLines.decode(in).map(JsonNode::toString))
            .expectNext("{\"id\":1,\"op\":\"prepare\"}", "{\"id\":2}", "{\"event\":\"failed\"}")
            .expectComplete()
            .verify(Duration.ofSeconds(5));
        assertAllReleased();
    }

    @Test
    void aLineThatIsNotAnObjectFailsTheStream() {
        StepVerifier.create(JsonLines.decode(Flux.just("[1,2]\n", "{}\n", "{}\n").map(this::buf)))
            .expectErrorMessage("control line is not a JSON object")
            .verify(Duration.ofSeconds(5));
        assertAllReleased();
    }

    @Test
    void garbageFailsTheStreamNamingTheProblem() {
        StepVerifier.create(JsonLines.decode(Flux.just("{nope\n").map(this::buf)))
            .expectErrorSatisfies(e -> assertThat(e).hasMessageStartingWith("control line is not JSON"))
            .verify(Duration.ofSeconds(5));
        assertAllReleased();
    }

    @Test
    void anEndlessLineIsCutOffAtTheLimit() {
        String chunk = "x".repeat(64 * 1024);
        Flux<ByteBuf> in = Flux.range(0, 32).map(i -> buf(chunk));
        StepVerifier.create(JsonLines.decode(in))
            .expectErrorMessage("control line longer than " + JsonLines.MAX_LINE_BYTES + " bytes")
            .verify(Duration.ofSeconds(5));
        assertAllReleased();
    }

    @Test
    void encodeWritesOneLine() {
        byte[] line = JsonLines.encode(JsonLines.MAPPER.createObjectNode().put("op", "finish"));
        assertThat(new String(line, StandardCharsets.UTF_8)).isEqualTo("{\"op\":\"finish\"}\n");
    }
}
