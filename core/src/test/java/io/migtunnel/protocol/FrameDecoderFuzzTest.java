package io.migtunnel.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.migtunnel.fuzzing.ChunkedWire;
import io.netty.buffer.ByteBuf;

/**
 * Coverage-guided fuzzing of {@link FrameDecoder} and the payload readers of every frame type:
 * any byte stream, split anywhere, ends in frames that obey section 1 of PROTOCOL.md, or in a
 * {@link ProtocolException}; nothing else is thrown and every slice is released.
 *
 * <p>Input: byte 0 picks the max DATA payload (16, 32, 64 or 128 KiB), byte 1 seeds the chunk
 * sizes (0: one chunk), the rest is the wire. {@code ./mvnw verify} replays the committed corpus
 * ({@code src/test/resources/io/migtunnel/protocol/FrameDecoderFuzzTestInputs/}) and then fuzzes for
 * its {@code maxDuration} (8 s; {@code -Djazzer.max_duration=10m} for longer, see README "Fuzzing").
 */
class FrameDecoderFuzzTest {
    @FuzzTest(maxDuration = "8s")
    void everyByteStreamDecodesOrIsRejected(byte[] input) {
        if (input.length < 2) {
            return;
        }
        int maxPayload = Limits.MIN_FRAME_PAYLOAD << (input[0] & 3);
        ByteBuf wire = ChunkedWire.copyOf(input, 2);
        ChunkedWire.feed(wire, input[1] & 0xFF, maxPayload, new ChunkedWire.Receiver() {
            @Override
            public void onFrame(Frame frame) {
                try {
                    check(frame, maxPayload);
                } finally {
                    frame.release();
                }
            }

            @Override
            public void onDecodeError(ProtocolException e) {
                assertThat(e.code()).isIn(ErrorCode.PROTOCOL_ERROR, ErrorCode.FRAME_SIZE_ERROR);
            }
        });
        assertThat(wire.release()).as("every frame sliced from the wire released").isTrue();
    }

    /** A decoded frame obeys the header rules, and its payload reads or is rejected. */
    private static void check(Frame frame, int maxPayload) {
        FrameType type = frame.type();
        ByteBuf payload = frame.payload();
        assertThat(type.allowsLength(payload.readableBytes(), maxPayload)).as("%s length", frame).isTrue();
        assertThat(type.onStream()).as("%s stream id", frame).isEqualTo(frame.streamId() != 0);
        assertThat(frame.streamId()).isNotNegative();
        if (type == FrameType.DATA && !payload.isReadable()) {
            assertThat(frame.fin()).as("empty DATA carries FIN").isTrue();
        }
        int before = payload.readerIndex();
        try {
            switch (type) {
                case HELLO -> HelloFrameCodec.decode(payload);
                case OPEN -> assertThat(StreamNames.problem(OpenFrameCodec.name(payload))).isNull();
                case OPEN_OK, DATA -> { }
                case CREDIT -> {
                    CreditFrameCodec.consumed(payload);
                    CreditFrameCodec.limit(payload);
                }
                case RESET -> {
                    ResetFrameCodec.code(payload);
                    ResetFrameCodec.finalOffset(payload);
                    ResetFrameCodec.message(payload);
                }
                case PING, PONG -> PingFrameCodec.opaque(payload);
                case GOAWAY -> {
                    GoAwayFrameCodec.code(payload);
                    GoAwayFrameCodec.lastStreamId(payload);
                    GoAwayFrameCodec.message(payload);
                }
            }
        } catch (ProtocolException e) {
            assertThat(type).as("payload rejected: " + e.getMessage()).isIn(FrameType.HELLO, FrameType.OPEN,
                FrameType.RESET, FrameType.GOAWAY);
        }
        assertThat(payload.readerIndex()).as("payload readers use absolute indexes").isEqualTo(before);
    }
}
