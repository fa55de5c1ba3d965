package io.migtunnel.fuzzing;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.protocol.CreditFrameCodec;
import io.migtunnel.protocol.DataFrameCodec;
import io.migtunnel.protocol.ErrorCode;
import io.migtunnel.protocol.FrameHeaderCodec;
import io.migtunnel.protocol.FrameType;
import io.migtunnel.protocol.GoAwayFrameCodec;
import io.migtunnel.protocol.HelloFrameCodec;
import io.migtunnel.protocol.Limits;
import io.migtunnel.protocol.OpenFrameCodec;
import io.migtunnel.protocol.OpenOkFrameCodec;
import io.migtunnel.protocol.PingFrameCodec;
import io.migtunnel.protocol.ResetFrameCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The committed seed corpus of the fuzz tests, generated here from the frame codecs: every frame
 * type well-formed, each header and payload rule broken once, and session scenarios that reach
 * each limit. The test checks that every seed file is committed with exactly these bytes (the
 * fuzzer may add its own findings next to them); {@code -Dmigtunnel.fuzz.writeCorpus=true}
 * rewrites them after a change here or in the protocol.
 */
class FuzzCorpusTest {
    private static final Path RESOURCES = Path.of("src/test/resources");
    static final Path DECODER = RESOURCES.resolve(
        "io/migtunnel/protocol/FrameDecoderFuzzTestInputs/everyByteStreamDecodesOrIsRejected");
    static final Path SESSION = RESOURCES.resolve(
        "io/migtunnel/mux/SessionFuzzTestInputs/anyPeerEndsOpenOrWithGoAwayAndReleasesEverything");
    private static final ByteBufAllocator ALLOC = UnpooledByteBufAllocator.DEFAULT;
    private static final int WINDOW = Limits.MIN_STREAM_WINDOW;

    @Test
    void committedSeedsMatchTheGenerator() throws IOException {
        boolean write = Boolean.getBoolean("migtunnel.fuzz.writeCorpus");
        for (Map.Entry<Path, Map<String, byte[]>> corpus : Map.of(DECODER, decoderSeeds(), SESSION, sessionSeeds())
            .entrySet()) {
            for (Map.Entry<String, byte[]> seed : corpus.getValue().entrySet()) {
                Path file = corpus.getKey().resolve(seed.getKey());
                if (write) {
                    Files.createDirectories(file.getParent());
                    Files.write(file, seed.getValue());
                }
                assertThat(file).as("seed %s (rewrite with -Dmigtunnel.fuzz.writeCorpus=true)", file)
                    .exists().hasBinaryContent(seed.getValue());
            }
        }
    }

    /** FrameDecoderFuzzTest inputs: max-payload selector, split seed, then the wire. */
    static Map<String, byte[]> decoderSeeds() {
        Map<String, byte[]> seeds = new LinkedHashMap<>();
        Map<String, ByteBuf> valid = validFrames();
        valid.forEach((name, frame) -> seeds.put("valid-" + name, decoderInput(0, frame.retainedDuplicate())));
        seeds.put("valid-every-type-split-anywhere", decoderInput(7, concat(valid.values().toArray(ByteBuf[]::new))));
        seeds.put("valid-data-max-payload", decoderInput(0,
            DataFrameCodec.encode(ALLOC, 1, false, ALLOC.buffer().writeZero(Limits.MIN_FRAME_PAYLOAD))));
        seeds.put("bad-unknown-type", decoderInput(0, header(0x09, 0, 1, 0)));
        seeds.put("bad-hello-on-stream-1", decoderInput(0, withStream(hello(), 1)));
        seeds.put("bad-open-on-stream-0", decoderInput(0, withStream(OpenFrameCodec.encode(ALLOC, 1, "disk"), 0)));
        seeds.put("bad-stream-id-high-bit", decoderInput(0, header(FrameType.OPEN_OK.code(), 0, 0x8000_0001, 0)));
        seeds.put("bad-hello-length-19", decoderInput(0, concat(header(FrameType.HELLO.code(), 0, 0, 19),
            ALLOC.buffer().writeZero(19))));
        seeds.put("bad-open-empty-name", decoderInput(0, header(FrameType.OPEN.code(), 0, 1, 0)));
        seeds.put("bad-open-name-256", decoderInput(0, raw(FrameType.OPEN, 1, "a".repeat(256))));
        seeds.put("bad-open-name-path", decoderInput(0, raw(FrameType.OPEN, 1, "../etc/passwd")));
        seeds.put("bad-open-ok-with-payload", decoderInput(0, concat(header(FrameType.OPEN_OK.code(), 0, 1, 1),
            ALLOC.buffer().writeZero(1))));
        seeds.put("bad-data-above-max-payload", decoderInput(0,
            header(FrameType.DATA.code(), 0, 1, Limits.MIN_FRAME_PAYLOAD + 1)));
        seeds.put("bad-data-empty-without-fin", decoderInput(0, header(FrameType.DATA.code(), 0, 1, 0)));
        seeds.put("bad-credit-length-15", decoderInput(0, header(FrameType.CREDIT.code(), 0, 1, 15)));
        seeds.put("bad-reset-message-1025", decoderInput(0, header(FrameType.RESET.code(), 0, 1, 12 + 1025)));
        seeds.put("bad-ping-length-7", decoderInput(0, header(FrameType.PING.code(), 0, 0, 7)));
        seeds.put("bad-goaway-length-7", decoderInput(0, header(FrameType.GOAWAY.code(), 0, 0, 7)));
        seeds.put("bad-hello-magic", decoderInput(0, hello().setInt(12, 0x12345678)));
        seeds.put("bad-hello-version", decoderInput(0, HelloFrameCodec.encode(ALLOC, 2, WINDOW, 16384, 8)));
        seeds.put("bad-hello-window-too-small", decoderInput(0, HelloFrameCodec.encode(ALLOC, 1, 1024, 16384, 8)));
        seeds.put("truncated-header", decoderInput(0, hello().writerIndex(11)));
        seeds.put("truncated-payload", decoderInput(3, OpenFrameCodec.encode(ALLOC, 1, "nbd/disk0").writerIndex(15)));
        return seeds;
    }

    /** SessionFuzzTest inputs: mode bits, split seed, seconds to advance, then the peer's bytes. */
    static Map<String, byte[]> sessionSeeds() {
        Map<String, byte[]> seeds = new LinkedHashMap<>();
        seeds.put("server-open-data-fin", sessionInput(0, 0, 0, hello(), open(1), data(1, 5, true)));
        seeds.put("server-open-data-fin-split", sessionInput(0, 1, 0, hello(), open(1), data(1, 5, true)));
        seeds.put("client-peer-opens-even", sessionInput(1, 0, 0, hello(), open(2), data(2, 100, false)));
        seeds.put("consumers-of-each-kind", sessionInput(0, 0, 0, hello(), open(1), open(3), open(5), open(7),
            data(1, 16384, false), data(3, 16384, false), data(5, 16384, false), data(7, 10, false)));
        seeds.put("streams-past-the-limit", sessionInput(0, 0, 0, hello(), open(1), open(3), open(5), open(9),
            open(11), open(13), open(15), open(17)));
        seeds.put("streams-past-the-buffer-limit", sessionInput(0, 0, 0, hello(), open(1), open(3), open(5),
            open(9), data(9, 10, false)));
        seeds.put("window-overrun", sessionInput(0, 0, 0, hello(), open(5), data(5, 16384, false),
            data(5, 16384, false), data(5, 16384, false), data(5, 16384, false), data(5, 1, false)));
        seeds.put("slow-consumer-gets-credit", sessionInput(0, 9, 0, hello(), open(3), data(3, 16384, false),
            data(3, 16384, false), data(3, 16384, false), data(3, 16384, false), data(3, 16384, false)));
        seeds.put("data-after-fin", sessionInput(0, 0, 0, hello(), open(1), data(1, 3, true), data(1, 3, false)));
        seeds.put("local-stream-gets-credit", sessionInput(2, 0, 0, hello(),
            CreditFrameCodec.encode(ALLOC, 2, 0, 2L * WINDOW), CreditFrameCodec.encode(ALLOC, 2, WINDOW, 3L * WINDOW),
            data(2, 7, true)));
        seeds.put("credit-consumed-above-limit", sessionInput(2, 0, 0, hello(),
            CreditFrameCodec.encode(ALLOC, 2, 10, 5)));
        seeds.put("reset-open-stream", sessionInput(0, 0, 0, hello(), open(1), data(1, 50, false),
            ResetFrameCodec.encode(ALLOC, 1, ErrorCode.CANCELLED, 0, "peer gave up"), data(1, 5, false)));
        seeds.put("ping-pong", sessionInput(0, 0, 0, hello(), PingFrameCodec.encodePing(ALLOC, 42),
            PingFrameCodec.encodePong(ALLOC, 7)));
        seeds.put("goaway-no-error-then-drain", sessionInput(4, 0, 6, hello(), open(1), open(5),
            GoAwayFrameCodec.encode(ALLOC, ErrorCode.NO_ERROR, 0, "bye"), data(1, 5, true)));
        seeds.put("goaway-protocol-error", sessionInput(0, 0, 0, hello(), open(1),
            GoAwayFrameCodec.encode(ALLOC, ErrorCode.PROTOCOL_ERROR, 1, "you broke it")));
        seeds.put("no-hello-until-timeout", sessionInput(0, 0, 11));
        seeds.put("keepalive-pings", sessionInput(0, 0, 16, hello()));
        seeds.put("data-before-hello", sessionInput(0, 0, 0, data(1, 5, false)));
        seeds.put("second-hello", sessionInput(0, 0, 0, hello(), hello()));
        seeds.put("duplicate-open", sessionInput(0, 0, 0, hello(), open(3), open(1)));
        seeds.put("open-wrong-parity", sessionInput(0, 0, 0, hello(), open(2)));
        seeds.put("frame-for-idle-stream", sessionInput(0, 0, 0, hello(), OpenOkFrameCodec.encode(ALLOC, 9)));
        seeds.put("garbage-after-hello", sessionInput(0, 5, 0, hello(), ALLOC.buffer().writeBytes(
            "GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII))));
        return seeds;
    }

    private static Map<String, ByteBuf> validFrames() {
        Map<String, ByteBuf> frames = new LinkedHashMap<>();
        frames.put("hello", hello());
        frames.put("open", OpenFrameCodec.encode(ALLOC, 1, "nbd/disk0"));
        frames.put("open-ok", OpenOkFrameCodec.encode(ALLOC, 2));
        frames.put("data", data(1, 5, false));
        frames.put("data-fin-empty", DataFrameCodec.encode(ALLOC, 1, true, ALLOC.buffer(0)));
        frames.put("credit", CreditFrameCodec.encode(ALLOC, 1, 32768, 32768 + WINDOW));
        frames.put("reset", ResetFrameCodec.encode(ALLOC, 1, ErrorCode.CONNECT_FAILED, 5, "no such socket"));
        frames.put("ping", PingFrameCodec.encodePing(ALLOC, 0x0102030405060708L));
        frames.put("pong", PingFrameCodec.encodePong(ALLOC, 0x0102030405060708L));
        frames.put("goaway", GoAwayFrameCodec.encode(ALLOC, ErrorCode.NO_ERROR, 3, "shutting down"));
        return frames;
    }

    private static ByteBuf hello() {
        return HelloFrameCodec.encode(ALLOC, Limits.VERSION, WINDOW, Limits.MIN_FRAME_PAYLOAD, 8);
    }

    private static ByteBuf open(int id) {
        return OpenFrameCodec.encode(ALLOC, id, "disk");
    }

    private static ByteBuf data(int id, int bytes, boolean fin) {
        return DataFrameCodec.encode(ALLOC, id, fin, ALLOC.buffer(bytes).writeZero(bytes));
    }

    private static ByteBuf header(int type, int flags, int streamId, int length) {
        return ALLOC.buffer(Limits.HEADER_LENGTH).writeByte(type).writeByte(flags).writeShort(0)
            .writeInt(streamId).writeInt(length);
    }

    private static ByteBuf raw(FrameType type, int streamId, String payload) {
        byte[] b = payload.getBytes(StandardCharsets.UTF_8);
        ByteBuf buf = FrameHeaderCodec.encode(ALLOC, type, 0, streamId, b.length, b.length);
        return buf.writeBytes(b);
    }

    private static ByteBuf withStream(ByteBuf frame, int streamId) {
        return frame.setInt(4, streamId);
    }

    private static ByteBuf concat(ByteBuf... parts) {
        ByteBuf all = ALLOC.buffer();
        for (ByteBuf p : parts) {
            all.writeBytes(p);
            p.release();
        }
        return all;
    }

    private static byte[] decoderInput(int splitSeed, ByteBuf wire) {
        return input(new byte[] {0, (byte) splitSeed}, wire);
    }

    private static byte[] sessionInput(int mode, int splitSeed, int seconds, ByteBuf... frames) {
        return input(new byte[] {(byte) mode, (byte) splitSeed, (byte) seconds}, concat(frames));
    }

    private static byte[] input(byte[] prefix, ByteBuf wire) {
        byte[] bytes = new byte[prefix.length + wire.readableBytes()];
        System.arraycopy(prefix, 0, bytes, 0, prefix.length);
        wire.readBytes(bytes, prefix.length, wire.readableBytes());
        wire.release();
        return bytes;
    }
}
