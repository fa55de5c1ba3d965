package io.migtunnel.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * Golden bytes for every frame type. Each expected hex string is written out by hand from
 * docs/PROTOCOL.md (header: type u8, flags u8, reserved u16, stream id u32, length u32; all
 * big-endian), never computed by the code under test. Each test encodes, compares the exact bytes,
 * then decodes the same bytes and reads the fields back.
 */
class GoldenFramesTest {
    private static final ByteBufAllocator ALLOC = UnpooledByteBufAllocator.DEFAULT;
    private static final int MAX_PAYLOAD = 16_384;

    // ---- HELLO (section 3) ----

    @Test
    void hello() {
        String golden = "00" + "00" + "0000" + "00000000" + "00000014"     // HELLO, stream 0, length 20
            + "4d47544e"                                                   // magic "MGTN"
            + "0001" + "0000"                                              // version 1, flags 0
            + "00100000"                                                   // stream window 1 MiB
            + "00010000"                                                   // max frame payload 65536
            + "00000100";                                                  // max concurrent streams 256
        assertThat(hex(HelloFrameCodec.encode(ALLOC, 1, 1 << 20, 65_536, 256))).isEqualTo(golden);

        Frame f = decodeOne(golden);
        assertHeader(f, FrameType.HELLO, 0, 0, 20);
        assertThat(HelloFrameCodec.decode(f.payload()))
            .isEqualTo(new HelloFrameCodec.PeerLimits(1 << 20, 65_536, 256));
        f.release();
    }

    // ---- OPEN / OPEN_OK (section 4) ----

    @Test
    void open() {
        String golden = "01" + "00" + "0000" + "00000001" + "00000009" + "6e62642f6469736b30"; // "nbd/disk0"
        assertThat(hex(OpenFrameCodec.encode(ALLOC, 1, "nbd/disk0"))).isEqualTo(golden);

        Frame f = decodeOne(golden);
        assertHeader(f, FrameType.OPEN, 0, 1, 9);
        assertThat(OpenFrameCodec.name(f.payload())).isEqualTo("nbd/disk0");
        f.release();
    }

    @Test
    void openOnHighestStreamId() {
        String golden = "01" + "00" + "0000" + "7fffffff" + "00000009" + "6d6967726174696f6e"; // "migration"
        assertThat(hex(OpenFrameCodec.encode(ALLOC, 0x7FFF_FFFF, "migration"))).isEqualTo(golden);

        Frame f = decodeOne(golden);
        assertHeader(f, FrameType.OPEN, 0, 0x7FFF_FFFF, 9);
        assertThat(OpenFrameCodec.name(f.payload())).isEqualTo("migration");
        f.release();
    }

    @Test
    void openOk() {
        String golden = "02" + "00" + "0000" + "00000002" + "00000000";
        assertThat(hex(OpenOkFrameCodec.encode(ALLOC, 2))).isEqualTo(golden);

        Frame f = decodeOne(golden);
        assertHeader(f, FrameType.OPEN_OK, 0, 2, 0);
        f.release();
    }

    // ---- DATA (section 5) ----

    @Test
    void dataWithFin() {
        String golden = "03" + "01" + "0000" + "00000001" + "00000005" + "68656c6c6f"; // FIN "hello"
        assertThat(hex(DataFrameCodec.encode(ALLOC, 1, true, ascii("hello")))).isEqualTo(golden);

        Frame f = decodeOne(golden);
        assertHeader(f, FrameType.DATA, Frame.FLAG_FIN, 1, 5);
        assertThat(f.fin()).isTrue();
        assertThat(f.payload().toString(StandardCharsets.US_ASCII)).isEqualTo("hello");
        f.release();
    }

    @Test
    void dataWithoutFin() {
        String golden = "03" + "00" + "0000" + "00000003" + "00000003" + "616263"; // "abc"
        assertThat(hex(DataFrameCodec.encode(ALLOC, 3, false, ascii("abc")))).isEqualTo(golden);

        Frame f = decodeOne(golden);
        assertHeader(f, FrameType.DATA, 0, 3, 3);
        assertThat(f.fin()).isFalse();
        assertThat(f.payload().toString(StandardCharsets.US_ASCII)).isEqualTo("abc");
        f.release();
    }

    @Test
    void emptyDataWithFin() {
        String golden = "03" + "01" + "0000" + "00000004" + "00000000";
        assertThat(hex(DataFrameCodec.encode(ALLOC, 4, true, ALLOC.heapBuffer(0)))).isEqualTo(golden);

        Frame f = decodeOne(golden);
        assertHeader(f, FrameType.DATA, Frame.FLAG_FIN, 4, 0);
        assertThat(f.fin()).isTrue();
        f.release();
    }

    @Test
    void dataHeaderAlone() {
        assertThat(hex(DataFrameCodec.encodeHeader(ALLOC, 1, true, 5)))
            .isEqualTo("03" + "01" + "0000" + "00000001" + "00000005");
        assertThat(hex(DataFrameCodec.encodeHeader(ALLOC, 0x10, false, 16_384)))
            .isEqualTo("03" + "00" + "0000" + "00000010" + "00004000");
    }

    // ---- CREDIT (section 6) ----

    @Test
    void credit() {
        String golden = "04" + "00" + "0000" + "00000005" + "00000010"
            + "0000000100000000"    // consumed 2^32
            + "0000000100010000";   // limit 2^32 + 65536
        assertThat(hex(CreditFrameCodec.encode(ALLOC, 5, 1L << 32, (1L << 32) + 65_536))).isEqualTo(golden);

        Frame f = decodeOne(golden);
        assertHeader(f, FrameType.CREDIT, 0, 5, 16);
        assertThat(CreditFrameCodec.consumed(f.payload())).isEqualTo(1L << 32);
        assertThat(CreditFrameCodec.limit(f.payload())).isEqualTo((1L << 32) + 65_536);
        f.release();
    }

    // ---- RESET (section 7) ----

    @Test
    void resetWithUtf8Message() {
        String golden = "05" + "00" + "0000" + "00000006" + "00000011" // length 12 + 5
            + "00000006"                                                // CONNECT_FAILED
            + "00000000000004d2"                                        // final offset 1234
            + "636166c3a9";                                             // "café" in UTF-8
        assertThat(hex(ResetFrameCodec.encode(ALLOC, 6, ErrorCode.CONNECT_FAILED, 1234, "café"))).isEqualTo(golden);

        Frame f = decodeOne(golden);
        assertHeader(f, FrameType.RESET, 0, 6, 17);
        assertThat(ResetFrameCodec.code(f.payload())).isEqualTo(6);
        assertThat(ResetFrameCodec.finalOffset(f.payload())).isEqualTo(1234);
        assertThat(ResetFrameCodec.message(f.payload())).isEqualTo("café");
        f.release();
    }

    @Test
    void resetWithoutMessage() {
        String golden = "05" + "00" + "0000" + "00000007" + "0000000c" + "00000009" + "0000000000000000"; // REFUSED
        assertThat(hex(ResetFrameCodec.encode(ALLOC, 7, ErrorCode.REFUSED, 0, ""))).isEqualTo(golden);
        assertThat(hex(ResetFrameCodec.encode(ALLOC, 7, ErrorCode.REFUSED, 0, null))).isEqualTo(golden);

        Frame f = decodeOne(golden);
        assertHeader(f, FrameType.RESET, 0, 7, 12);
        assertThat(ResetFrameCodec.code(f.payload())).isEqualTo(ErrorCode.REFUSED.code());
        assertThat(ResetFrameCodec.finalOffset(f.payload())).isZero();
        assertThat(ResetFrameCodec.message(f.payload())).isEmpty();
        f.release();
    }

    @Test
    void resetWithUnknownCodeDecodes() {
        String golden = "05" + "00" + "0000" + "00000001" + "0000000c" + "ffffffff" + "ffffffffffffffff";
        Frame f = decodeOne(golden);
        assertThat(ResetFrameCodec.code(f.payload())).isEqualTo(0xFFFF_FFFFL);
        assertThat(ErrorCode.describe(ResetFrameCodec.code(f.payload()))).isEqualTo("UNKNOWN(4294967295)");
        assertThat(ResetFrameCodec.finalOffset(f.payload())).isEqualTo(-1L); // u64 max, as a Java long
        f.release();
    }

    @Test
    void longMessagesAreCutTo1024BytesOnACharacterBoundary() {
        ByteBuf ascii = ResetFrameCodec.encode(ALLOC, 1, ErrorCode.INTERNAL_ERROR, 0, "x".repeat(2000));
        assertThat(ascii.getUnsignedInt(8)).isEqualTo(12 + 1024);
        ascii.release();

        // 1023 ASCII bytes then a 2-byte character: the character would straddle byte 1024, so it goes.
        ByteBuf cut = GoAwayFrameCodec.encode(ALLOC, ErrorCode.INTERNAL_ERROR, 0, "x".repeat(1023) + "é");
        assertThat(cut.getUnsignedInt(8)).isEqualTo(8 + 1023);
        Frame f = FrameDecoder.decode(cut, MAX_PAYLOAD);
        assertThat(GoAwayFrameCodec.message(f.payload())).isEqualTo("x".repeat(1023));
        f.release();
        cut.release();
    }

    // ---- PING / PONG (section 8) ----

    @Test
    void ping() {
        String golden = "06" + "00" + "0000" + "00000000" + "00000008" + "0102030405060708";
        assertThat(hex(PingFrameCodec.encodePing(ALLOC, 0x0102030405060708L))).isEqualTo(golden);

        Frame f = decodeOne(golden);
        assertHeader(f, FrameType.PING, 0, 0, 8);
        assertThat(PingFrameCodec.opaque(f.payload())).isEqualTo(0x0102030405060708L);
        f.release();
    }

    @Test
    void pong() {
        String golden = "07" + "00" + "0000" + "00000000" + "00000008" + "fffffffffffffffe";
        assertThat(hex(PingFrameCodec.encodePong(ALLOC, -2L))).isEqualTo(golden);

        Frame f = decodeOne(golden);
        assertHeader(f, FrameType.PONG, 0, 0, 8);
        assertThat(PingFrameCodec.opaque(f.payload())).isEqualTo(-2L);
        f.release();
    }

    // ---- GOAWAY (section 9) ----

    @Test
    void goAway() {
        String golden = "08" + "00" + "0000" + "00000000" + "0000000b" // length 8 + 3
            + "00000000"                                                // NO_ERROR
            + "00000007"                                                // last stream id 7
            + "627965";                                                 // "bye"
        assertThat(hex(GoAwayFrameCodec.encode(ALLOC, ErrorCode.NO_ERROR, 7, "bye"))).isEqualTo(golden);

        Frame f = decodeOne(golden);
        assertHeader(f, FrameType.GOAWAY, 0, 0, 11);
        assertThat(GoAwayFrameCodec.code(f.payload())).isEqualTo(ErrorCode.NO_ERROR.code());
        assertThat(GoAwayFrameCodec.lastStreamId(f.payload())).isEqualTo(7);
        assertThat(GoAwayFrameCodec.message(f.payload())).isEqualTo("bye");
        f.release();
    }

    @Test
    void goAwayWithoutMessage() {
        String golden = "08" + "00" + "0000" + "00000000" + "00000008" + "0000000a" + "7fffffff"; // KEEPALIVE_TIMEOUT
        assertThat(hex(GoAwayFrameCodec.encode(ALLOC, ErrorCode.KEEPALIVE_TIMEOUT, 0x7FFF_FFFF, "")))
            .isEqualTo(golden);

        Frame f = decodeOne(golden);
        assertHeader(f, FrameType.GOAWAY, 0, 0, 8);
        assertThat(GoAwayFrameCodec.code(f.payload())).isEqualTo(10);
        assertThat(GoAwayFrameCodec.lastStreamId(f.payload())).isEqualTo(0x7FFF_FFFFL);
        assertThat(GoAwayFrameCodec.message(f.payload())).isEmpty();
        f.release();
    }

    @Test
    void goAwayControlFrameLimit() {
        String golden = "08" + "00" + "0000" + "00000000" + "0000000c" // length 8 + 4
            + "0000000c"                                                // EXCESSIVE_LOAD (section 8)
            + "00000000"                                                // last stream id 0
            + "6c696d74";                                               // "limt"
        assertThat(hex(GoAwayFrameCodec.encode(ALLOC, ErrorCode.EXCESSIVE_LOAD, 0, "limt"))).isEqualTo(golden);

        Frame f = decodeOne(golden);
        assertHeader(f, FrameType.GOAWAY, 0, 0, 12);
        assertThat(GoAwayFrameCodec.code(f.payload())).isEqualTo(12);
        assertThat(ErrorCode.describe(GoAwayFrameCodec.code(f.payload()))).isEqualTo("EXCESSIVE_LOAD");
        f.release();
    }

    // ---- Section 11: the example, byte for byte ----

    @Test
    void section11Example() {
        // Copied from docs/PROTOCOL.md section 11 with the spaces and comments removed.
        String open = "01 00 0000 00000001 00000009  6e62642f6469736b30";
        String data = "03 01 0000 00000001 00000005  68656c6c6f";
        String golden = (open + data).replace(" ", "");

        ByteBuf wire = ALLOC.heapBuffer();
        ByteBuf o = OpenFrameCodec.encode(ALLOC, 1, "nbd/disk0");
        ByteBuf d = DataFrameCodec.encode(ALLOC, 1, true, ascii("hello"));
        wire.writeBytes(o).writeBytes(d);
        o.release();
        d.release();
        assertThat(ByteBufUtil.hexDump(wire)).isEqualTo(golden);
        wire.release();

        ByteBuf in = unhex(golden);
        Frame first = FrameDecoder.decode(in, MAX_PAYLOAD);
        Frame second = FrameDecoder.decode(in, MAX_PAYLOAD);
        assertThat(FrameDecoder.decode(in, MAX_PAYLOAD)).isNull();
        assertThat(in.isReadable()).isFalse();
        in.release();

        assertHeader(first, FrameType.OPEN, 0, 1, 9);
        assertThat(OpenFrameCodec.name(first.payload())).isEqualTo("nbd/disk0");
        assertHeader(second, FrameType.DATA, Frame.FLAG_FIN, 1, 5);
        assertThat(second.payload().toString(StandardCharsets.US_ASCII)).isEqualTo("hello");
        first.release();
        second.release();
    }

    // ---- Tolerance (section 1): reserved bytes and unknown flag bits are ignored ----

    @Test
    void reservedBytesAndUnknownFlagsAreIgnored() {
        Frame ping = decodeOne("06" + "fe" + "abcd" + "00000000" + "00000008" + "0000000000000001");
        assertHeader(ping, FrameType.PING, 0xFE, 0, 8);
        assertThat(PingFrameCodec.opaque(ping.payload())).isEqualTo(1);
        ping.release();

        Frame data = decodeOne("03" + "ff" + "ffff" + "00000001" + "00000000"); // FIN among unknown bits
        assertHeader(data, FrameType.DATA, 0xFF, 1, 0);
        assertThat(data.fin()).isTrue();
        data.release();
    }

    @Test
    void helloFlagsFieldIsIgnored() {
        Frame f = decodeOne("000000000000000000000014" + "4d47544e" + "0001" + "ffff"
            + "00010000" + "00004000" + "00000001");
        assertThat(HelloFrameCodec.decode(f.payload())).isEqualTo(new HelloFrameCodec.PeerLimits(65_536, 16_384, 1));
        f.release();
    }

    // ---- helpers ----

    static String hex(ByteBuf buf) {
        try {
            return ByteBufUtil.hexDump(buf);
        } finally {
            buf.release();
        }
    }

    static ByteBuf unhex(String hex) {
        return ALLOC.heapBuffer().writeBytes(ByteBufUtil.decodeHexDump(hex.replace(" ", "")));
    }

    private static ByteBuf ascii(String s) {
        return ALLOC.heapBuffer().writeBytes(s.getBytes(StandardCharsets.US_ASCII));
    }

    /** Decodes exactly one frame that fills the whole input; the input is released. */
    private static Frame decodeOne(String hex) {
        ByteBuf in = unhex(hex);
        try {
            Frame f = FrameDecoder.decode(in, MAX_PAYLOAD);
            assertThat(f).isNotNull();
            assertThat(in.readableBytes()).as("bytes left after the frame").isZero();
            return f;
        } finally {
            in.release();
        }
    }

    private static void assertHeader(Frame f, FrameType type, int flags, int streamId, int length) {
        assertThat(f.type()).isEqualTo(type);
        assertThat(f.flags()).isEqualTo(flags);
        assertThat(f.streamId()).isEqualTo(streamId);
        assertThat(f.payload().readableBytes()).isEqualTo(length);
    }
}
