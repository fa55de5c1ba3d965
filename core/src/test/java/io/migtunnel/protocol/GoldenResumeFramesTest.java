package io.migtunnel.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Golden bytes for the resumption frames of section 13.2, written out by hand from
 * docs/PROTOCOL.md, and the table checks a receiver makes before trusting a stream table.
 */
class GoldenResumeFramesTest {
    private static final ByteBufAllocator ALLOC = UnpooledByteBufAllocator.DEFAULT;

    private static byte[] filled(int size, int value) {
        byte[] b = new byte[size];
        Arrays.fill(b, (byte) value);
        return b;
    }

    private static String repeat(String hexByte, int times) {
        return hexByte.repeat(times);
    }

    /** Stream 1: OPEN_OK and FIN_SENT, 2^32 + 5 bytes received; stream 4: RESET with code 8, 0 bytes. */
    private static final ResumeTable TABLE = new ResumeTable(4, List.of(
        new ResumeTable.Entry(1, ResumeTable.OPEN_OK | ResumeTable.FIN_SENT, (1L << 32) + 5, 0),
        new ResumeTable.Entry(4, ResumeTable.RESET, 0, 8)));
    private static final String TABLE_HEX = "00000004" + "00000002"                  // last peer id 4, 2 entries
        + "00000001" + "05" + "0000000100000005" + "00000000" + "00000000"          // stream 1
        + "00000004" + "08" + "0000000000000000" + "00000008" + "00000000";         // stream 4, RESET CANCELLED

    @Test
    void session() {
        String golden = "09" + "00" + "0000" + "00000000" + "00000050"                // SESSION, length 80
            + repeat("11", 32) + repeat("22", 16) + repeat("33", 32);                  // nonce, token, secret
        assertThat(hex(SessionFrameCodec.encode(ALLOC, filled(32, 0x11), filled(16, 0x22), filled(32, 0x33))))
            .isEqualTo(golden);

        Frame f = decodeOne(golden);
        assertThat(f.type()).isEqualTo(FrameType.SESSION);
        assertThat(SessionFrameCodec.nonce(f.payload())).isEqualTo(filled(32, 0x11));
        assertThat(SessionFrameCodec.token(f.payload())).isEqualTo(filled(16, 0x22));
        assertThat(SessionFrameCodec.secret(f.payload())).isEqualTo(filled(32, 0x33));
        f.release();
    }

    @Test
    void resume() {
        String golden = "0a" + "00" + "0000" + "00000000" + "00000082"                 // RESUME, length 80 + 50
            + repeat("22", 16) + repeat("44", 32) + repeat("55", 32)                    // token, client nonce, proof
            + TABLE_HEX;
        assertThat(hex(ResumeFrameCodec.encode(ALLOC, filled(16, 0x22), filled(32, 0x44), filled(32, 0x55), TABLE)))
            .isEqualTo(golden);

        Frame f = decodeOne(golden);
        assertThat(f.type()).isEqualTo(FrameType.RESUME);
        assertThat(ResumeFrameCodec.token(f.payload())).isEqualTo(filled(16, 0x22));
        assertThat(ResumeFrameCodec.clientNonce(f.payload())).isEqualTo(filled(32, 0x44));
        assertThat(ResumeFrameCodec.proof(f.payload())).isEqualTo(filled(32, 0x55));
        assertThat(ResumeFrameCodec.table(f.payload())).isEqualTo(TABLE);
        f.release();
    }

    @Test
    void resumeOkWithAnEmptyTable() {
        String golden = "0b" + "00" + "0000" + "00000000" + "00000028"                 // RESUME_OK, length 40
            + repeat("66", 32) + "00000000" + "00000000";                               // proof, last peer id 0, 0 entries
        ResumeTable empty = new ResumeTable(0, List.of());
        assertThat(hex(ResumeOkFrameCodec.encode(ALLOC, filled(32, 0x66), empty))).isEqualTo(golden);

        Frame f = decodeOne(golden);
        assertThat(ResumeOkFrameCodec.proof(f.payload())).isEqualTo(filled(32, 0x66));
        assertThat(ResumeOkFrameCodec.table(f.payload())).isEqualTo(empty);
        f.release();
    }

    @Test
    void aTableWhoseCountDisagreesWithItsLengthIsRefused() {
        String bad = TABLE_HEX.replaceFirst("00000002", "00000003");
        assertThatThrownBy(() -> readTable(bad)).isInstanceOf(ProtocolException.class)
            .hasMessageContaining("resume table says 3 entries in 42 bytes");
    }

    @Test
    void entriesOutOfOrderOrRepeatedAreRefused() {
        String swapped = "00000000" + "00000002"
            + "00000004" + "00" + "0000000000000000" + "00000000" + "00000000"
            + "00000004" + "00" + "0000000000000000" + "00000000" + "00000000";
        assertThatThrownBy(() -> readTable(swapped)).isInstanceOf(ProtocolException.class)
            .hasMessageContaining("stream id 4 not above 4");
    }

    @Test
    void reservedStateBitsAndStreamZeroAreRefused() {
        String reserved = "00000000" + "00000001" + "00000001" + "20" + "0000000000000000" + "00000000" + "00000000";
        assertThatThrownBy(() -> readTable(reserved)).hasMessageContaining("reserved state bits 0x20");
        String zero = "00000000" + "00000001" + "00000000" + "00" + "0000000000000000" + "00000000" + "00000000";
        assertThatThrownBy(() -> readTable(zero)).hasMessageContaining("stream id 0 out of range");
    }

    @Test
    void aCountAboveTheLimitIsRefusedBeforeAnythingIsRead() {
        String huge = "00000000" + "00010001";
        assertThatThrownBy(() -> readTable(huge)).hasMessageContaining("65537 entries")
            .hasMessageContaining("at most 65536");
    }

    @Test
    void withoutNegotiationTheDecoderStillBoundsTheirLength() {
        String tooShort = "0a" + "00" + "0000" + "00000000" + "00000057" + repeat("00", 0x57);
        assertThatThrownBy(() -> FrameDecoder.decode(GoldenFramesTest.unhex(tooShort), 16_384))
            .isInstanceOf(ProtocolException.class).hasMessageContaining("RESUME with payload length 87 not allowed");
    }

    private static ResumeTable readTable(String hex) {
        ByteBuf in = GoldenFramesTest.unhex(hex);
        try {
            return ResumeTable.read(in, 0, in.readableBytes());
        } finally {
            in.release();
        }
    }

    private static String hex(ByteBuf buf) {
        try {
            return ByteBufUtil.hexDump(buf);
        } finally {
            buf.release();
        }
    }

    private static Frame decodeOne(String hex) {
        ByteBuf in = GoldenFramesTest.unhex(hex);
        try {
            Frame f = FrameDecoder.decode(in, 16_384);
            assertThat(in.readableBytes()).isZero();
            return f;
        } finally {
            in.release();
        }
    }
}
