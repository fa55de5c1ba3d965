package io.migtunnel.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every class of malformed input is rejected with a {@link ProtocolException} carrying the right
 * {@link ErrorCode} and a message that names the problem. Header checks are exercised with buffers
 * that hold only the 12-byte header: they must fire before any payload is waited for.
 */
class NegativeFramesTest {
    private static final ByteBufAllocator ALLOC = UnpooledByteBufAllocator.DEFAULT;
    private static final int MAX_PAYLOAD = 16_384;

    // ---- header checks (section 1, 2) ----

    @ParameterizedTest
    @ValueSource(ints = {0x0C, 0x0D, 0x10, 0x7F, 0x80, 0xFF})
    void unknownType(int type) {
        ProtocolException e = headerOnlyFails(type, 0, 1, 0);
        assertThat(e.code()).isEqualTo(ErrorCode.PROTOCOL_ERROR);
        assertThat(e.getMessage()).contains("unknown frame type", "0x" + Integer.toHexString(type));
    }

    @ParameterizedTest
    @CsvSource({"OPEN, 9", "OPEN_OK, 0", "DATA, 5", "CREDIT, 16", "RESET, 12"})
    void streamTypeOnStreamZero(FrameType type, long length) {
        ProtocolException e = headerOnlyFails(type.code(), 0, 0, length);
        assertThat(e.code()).isEqualTo(ErrorCode.PROTOCOL_ERROR);
        assertThat(e.getMessage()).contains(type.name(), "on stream 0");
    }

    @ParameterizedTest
    @CsvSource({"HELLO, 20, 1", "PING, 8, 1", "PONG, 8, 2", "GOAWAY, 8, 3", "GOAWAY, 8, 2147483647"})
    void connectionTypeOnAStream(FrameType type, long length, long streamId) {
        ProtocolException e = headerOnlyFails(type.code(), 0, streamId, length);
        assertThat(e.code()).isEqualTo(ErrorCode.PROTOCOL_ERROR);
        assertThat(e.getMessage()).contains(type.name(), "on stream " + streamId, "must be 0");
    }

    @ParameterizedTest
    @CsvSource({"DATA, 2147483648", "DATA, 4294967295", "OPEN, 2147483649", "PING, 2147483648"})
    void streamIdWithHighBitSet(FrameType type, long streamId) {
        ProtocolException e = headerOnlyFails(type.code(), 0, streamId, 8);
        assertThat(e.code()).isEqualTo(ErrorCode.PROTOCOL_ERROR);
        assertThat(e.getMessage()).contains("stream id " + streamId, "2^31");
    }

    @Test
    void hugeDataLengthFailsOnTheHeaderAlone() {
        // Only the 12 header bytes are present; the declared 4 GiB payload is not. The decoder must
        // not wait for (or allocate for) it.
        ByteBuf in = unhex("03" + "00" + "0000" + "00000001" + "ffffffff");
        assertThat(in.readableBytes()).isEqualTo(Limits.HEADER_LENGTH);
        assertThatThrownBy(() -> FrameDecoder.decode(in, MAX_PAYLOAD))
            .isInstanceOfSatisfying(ProtocolException.class, e -> {
                assertThat(e.code()).isEqualTo(ErrorCode.FRAME_SIZE_ERROR);
                assertThat(e.getMessage()).contains("DATA", "4294967295", "max frame payload " + MAX_PAYLOAD);
            });
        assertThat(in.readerIndex()).isZero();
        in.release();
    }

    @Test
    void dataOneByteOverMaxPayload() {
        ProtocolException e = headerOnlyFails(FrameType.DATA.code(), 0, 1, MAX_PAYLOAD + 1);
        assertThat(e.code()).isEqualTo(ErrorCode.FRAME_SIZE_ERROR);
        assertThat(e.getMessage()).contains("payload length " + (MAX_PAYLOAD + 1));
    }

    @Test
    void dataOfExactlyMaxPayloadIsAccepted() {
        ByteBuf in = unhex(header(FrameType.DATA.code(), 0, 1, MAX_PAYLOAD));
        assertThat(FrameDecoder.decode(in, MAX_PAYLOAD)).isNull(); // header fine, payload awaited
        assertThat(in.readerIndex()).isZero();
        in.writeZero(MAX_PAYLOAD);
        Frame f = FrameDecoder.decode(in, MAX_PAYLOAD);
        assertThat(f.payload().readableBytes()).isEqualTo(MAX_PAYLOAD);
        f.release();
        in.release();
    }

    @ParameterizedTest(name = "{0} with length {1}")
    @CsvSource({
        "HELLO, 19", "HELLO, 21", "HELLO, 0",
        "OPEN, 0", "OPEN, 256",
        "OPEN_OK, 1",
        "CREDIT, 15", "CREDIT, 17",
        "RESET, 11", "RESET, 1037",
        "PING, 7", "PING, 9", "PONG, 7",
        "GOAWAY, 7", "GOAWAY, 1033",
        "PING, 4294967295", "RESET, 4294967295"})
    void wrongLengthForType(FrameType type, long length) {
        ProtocolException e = headerOnlyFails(type.code(), 0, type.onStream() ? 1 : 0, length);
        assertThat(e.code()).isEqualTo(ErrorCode.FRAME_SIZE_ERROR);
        assertThat(e.getMessage()).contains(type.name(), "payload length " + length, "not allowed");
    }

    @ParameterizedTest
    @ValueSource(ints = {0x00, 0x02, 0xFE})
    void emptyDataWithoutFin(int flags) {
        ProtocolException e = headerOnlyFails(FrameType.DATA.code(), flags, 5, 0);
        assertThat(e.code()).isEqualTo(ErrorCode.PROTOCOL_ERROR);
        assertThat(e.getMessage()).contains("empty DATA without FIN", "stream 5");
    }

    // ---- HELLO payload (section 3) ----

    @ParameterizedTest
    @ValueSource(strings = {"00000000", "4d47544f", "4e54474d", "ffffffff"})
    void helloWithBadMagic(String magic) {
        ProtocolException e = helloFails(magic, "0001", "00010000", "00004000", "00000010");
        assertThat(e.code()).isEqualTo(ErrorCode.UNSUPPORTED_VERSION);
        assertThat(e.getMessage()).contains("magic", "0x" + magic.replaceFirst("^0+(?=.)", ""));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 2, 0xFFFF})
    void helloWithOtherVersion(int version) {
        ProtocolException e = helloFails("4d47544e", String.format("%04x", version), "00010000", "00004000", "00000010");
        assertThat(e.code()).isEqualTo(ErrorCode.UNSUPPORTED_VERSION);
        assertThat(e.getMessage()).contains("version " + version);
    }

    @ParameterizedTest(name = "window={0} maxFrame={1} maxStreams={2}")
    @CsvSource({
        "0000ffff, 00004000, 00000010, stream window 65535",
        "00000000, 00004000, 00000010, stream window 0",
        "00010000, 00003fff, 00000010, max frame payload 16383",
        "00010000, 01000001, 00000010, max frame payload 16777217",
        "00010000, 00000000, 00000010, max frame payload 0",
        "00010000, ffffffff, 00000010, max frame payload 4294967295"})
    void helloLimitsOutOfRange(String window, String maxFrame, String maxStreams, String named) {
        ProtocolException e = helloFails("4d47544e", "0001", window, maxFrame, maxStreams);
        assertThat(e.code()).isEqualTo(ErrorCode.PROTOCOL_ERROR);
        assertThat(e.getMessage()).contains("HELLO", named, "out of range");
    }

    @Test
    void helloLimitsAtTheBoundsAreAccepted() {
        assertThat(helloDecodes("00010000", "00004000", "00000001"))
            .isEqualTo(new HelloFrameCodec.PeerLimits(65_536, 16_384, 1));
        assertThat(helloDecodes("7fffffff", "01000000", "7fffffff"))
            .isEqualTo(new HelloFrameCodec.PeerLimits(Integer.MAX_VALUE, 16_777_216, Integer.MAX_VALUE));
    }

    // ---- OPEN names (section 1, 4) ----

    static Stream<Arguments> invalidNames() {
        return Stream.of(
            Arguments.of(bytes("../etc"), "looks like a path"),
            Arguments.of(bytes("a/../b"), "looks like a path"),
            Arguments.of(bytes(".."), "looks like a path"),
            Arguments.of(bytes("/abs"), "looks like a path"),
            Arguments.of(bytes("trailing/"), "looks like a path"),
            Arguments.of(bytes("a b"), "space at index 1"),
            Arguments.of(bytes(" "), "space at index 0"),
            Arguments.of(bytes("tab\tname"), "outside printable ASCII at index 3"),
            Arguments.of(bytes("del\u007f"), "outside printable ASCII at index 3"),
            Arguments.of(bytes("disk\u00e9"), "outside printable ASCII at index 4"),      // UTF-8 c3 a9
            Arguments.of(bytes("\u76ee\u5f55"), "outside printable ASCII at index 0"),
            Arguments.of(new byte[] {'a', (byte) 0xFF}, "outside printable ASCII at index 1"), // not UTF-8
            Arguments.of(new byte[] {0}, "outside printable ASCII at index 0"));
    }

    @ParameterizedTest
    @MethodSource("invalidNames")
    void openWithInvalidName(byte[] name, String problem) {
        ByteBuf in = unhex(header(FrameType.OPEN.code(), 0, 1, name.length));
        in.writeBytes(name);
        Frame f = FrameDecoder.decode(in, MAX_PAYLOAD); // framing is fine; the name is checked by its reader
        assertThatThrownBy(() -> OpenFrameCodec.name(f.payload()))
            .isInstanceOfSatisfying(ProtocolException.class, e -> {
                assertThat(e.code()).isEqualTo(ErrorCode.PROTOCOL_ERROR);
                assertThat(e.getMessage()).contains("OPEN with invalid name", problem);
            });
        f.release();
        in.release();
    }

    @Test
    void emptyOpenNameIsAFrameSizeError() {
        ProtocolException e = headerOnlyFails(FrameType.OPEN.code(), 0, 1, 0);
        assertThat(e.code()).isEqualTo(ErrorCode.FRAME_SIZE_ERROR);
    }

    @Test
    void encodingAnInvalidNameIsRefused() {
        for (String bad : List.of("", "../etc", "/abs", "a b", "disk\u00e9", "x".repeat(256))) {
            assertThatThrownBy(() -> OpenFrameCodec.encode(ALLOC, 1, bad))
                .as("name '%s'", bad)
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("stream name");
        }
        ByteBuf longest = OpenFrameCodec.encode(ALLOC, 1, "x".repeat(255));
        assertThat(longest.readableBytes()).isEqualTo(12 + 255);
        longest.release();
    }

    // ---- incomplete input ----

    @Test
    void incompleteHeaderReturnsNullAndLeavesReaderIndex() {
        byte[] frame = ByteBufUtil.decodeHexDump("030100000000000100000005" + "68656c6c6f");
        for (int n = 0; n < Limits.HEADER_LENGTH; n++) {
            ByteBuf in = ALLOC.heapBuffer();
            in.writeBytes(new byte[] {0x55, 0x55, 0x55}).skipBytes(3); // reader index not at 0
            in.writeBytes(frame, 0, n);
            assertThat(FrameDecoder.decode(in, MAX_PAYLOAD)).as("%d header bytes", n).isNull();
            assertThat(in.readerIndex()).isEqualTo(3);
            assertThat(in.readableBytes()).isEqualTo(n);
            in.release();
        }
    }

    static List<String> smallFrames() {
        List<String> frames = new ArrayList<>();
        frames.add("030100000000000100000005" + "68656c6c6f");                                   // DATA FIN
        frames.add("010000000000000100000009" + "6e62642f6469736b30");                           // OPEN
        frames.add("000000000000000000000014" + "4d47544e00010000000100000000400000000010");     // HELLO
        frames.add("040000000000000500000010" + "00000000000000010000000000010001");             // CREDIT
        frames.add("050000000000000600000011" + "0000000600000000000004d2636166c3a9");           // RESET
        frames.add("060000000000000000000008" + "0102030405060708");                             // PING
        frames.add("08000000000000000000000b" + "0000000000000007627965");                       // GOAWAY
        return frames;
    }

    @ParameterizedTest
    @MethodSource("smallFrames")
    void payloadSplitAtEveryByte(String hex) {
        byte[] frame = ByteBufUtil.decodeHexDump(hex);
        for (int split = 0; split < frame.length; split++) {
            ByteBuf in = ALLOC.heapBuffer();
            in.writeBytes(new byte[] {0x55, 0x55}).skipBytes(2);
            in.writeBytes(frame, 0, split);
            assertThat(FrameDecoder.decode(in, MAX_PAYLOAD)).as("split at %d", split).isNull();
            assertThat(in.readerIndex()).as("split at %d", split).isEqualTo(2);
            in.writeBytes(frame, split, frame.length - split);
            Frame f = FrameDecoder.decode(in, MAX_PAYLOAD);
            assertThat(f).as("split at %d", split).isNotNull();
            assertThat(f.payload().readableBytes()).isEqualTo(frame.length - Limits.HEADER_LENGTH);
            assertThat(ByteBufUtil.getBytes(f.payload()))
                .isEqualTo(java.util.Arrays.copyOfRange(frame, Limits.HEADER_LENGTH, frame.length));
            assertThat(in.isReadable()).isFalse();
            assertThat(FrameDecoder.decode(in, MAX_PAYLOAD)).isNull();
            f.release();
            in.release();
            assertThat(in.refCnt()).isZero();
        }
    }

    // ---- helpers ----

    private static String header(int type, int flags, long streamId, long length) {
        return String.format("%02x%02x0000%08x%08x", type, flags, streamId, length);
    }

    private static ByteBuf unhex(String hex) {
        return ALLOC.heapBuffer().writeBytes(ByteBufUtil.decodeHexDump(hex));
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Decodes a buffer holding only a 12-byte header; asserts it throws without consuming bytes. */
    private static ProtocolException headerOnlyFails(int type, int flags, long streamId, long length) {
        ByteBuf in = unhex(header(type, flags, streamId, length));
        try {
            FrameDecoder.decode(in, MAX_PAYLOAD);
        } catch (ProtocolException e) {
            assertThat(in.readerIndex()).isZero();
            return e;
        } finally {
            in.release();
        }
        throw new AssertionError("no ProtocolException for header " + header(type, flags, streamId, length));
    }

    private static ProtocolException helloFails(String magic, String version, String window, String maxFrame,
                                                String maxStreams) {
        Frame f = helloFrame(magic, version, window, maxFrame, maxStreams);
        try {
            HelloFrameCodec.decode(f.payload());
        } catch (ProtocolException e) {
            return e;
        } finally {
            f.release();
        }
        throw new AssertionError("HELLO accepted");
    }

    private static HelloFrameCodec.PeerLimits helloDecodes(String window, String maxFrame, String maxStreams) {
        Frame f = helloFrame("4d47544e", "0001", window, maxFrame, maxStreams);
        try {
            return HelloFrameCodec.decode(f.payload());
        } finally {
            f.release();
        }
    }

    private static Frame helloFrame(String magic, String version, String window, String maxFrame,
                                    String maxStreams) {
        ByteBuf in = unhex("000000000000000000000014" + magic + version + "0000" + window + maxFrame + maxStreams);
        try {
            Frame f = FrameDecoder.decode(in, MAX_PAYLOAD);
            assertThat(f).isNotNull();
            return f;
        } finally {
            in.release();
        }
    }
}
