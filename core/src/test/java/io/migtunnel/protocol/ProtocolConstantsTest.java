package io.migtunnel.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * Pins every numeric value of the wire protocol (docs/PROTOCOL.md). Changing one of these breaks
 * compatibility with deployed peers: if this test fails, the protocol version must change too.
 */
class ProtocolConstantsTest {

    @Test
    void frameTypeCodes() {
        assertThat(FrameType.HELLO.code()).isEqualTo(0x00);
        assertThat(FrameType.OPEN.code()).isEqualTo(0x01);
        assertThat(FrameType.OPEN_OK.code()).isEqualTo(0x02);
        assertThat(FrameType.DATA.code()).isEqualTo(0x03);
        assertThat(FrameType.CREDIT.code()).isEqualTo(0x04);
        assertThat(FrameType.RESET.code()).isEqualTo(0x05);
        assertThat(FrameType.PING.code()).isEqualTo(0x06);
        assertThat(FrameType.PONG.code()).isEqualTo(0x07);
        assertThat(FrameType.GOAWAY.code()).isEqualTo(0x08);
        assertThat(FrameType.SESSION.code()).isEqualTo(0x09);
        assertThat(FrameType.RESUME.code()).isEqualTo(0x0A);
        assertThat(FrameType.RESUME_OK.code()).isEqualTo(0x0B);
        assertThat(FrameType.values()).hasSize(12);
    }

    @Test
    void frameTypeLookup() {
        for (FrameType t : FrameType.values()) {
            assertThat(FrameType.fromCode(t.code())).isSameAs(t);
        }
        assertThat(FrameType.fromCode(0x0C)).isNull();
        assertThat(FrameType.fromCode(0xFF)).isNull();
        assertThat(FrameType.fromCode(-1)).isNull();
    }

    @Test
    void frameTypeStreamScope() {
        assertThat(FrameType.HELLO.onStream()).isFalse();
        assertThat(FrameType.OPEN.onStream()).isTrue();
        assertThat(FrameType.OPEN_OK.onStream()).isTrue();
        assertThat(FrameType.DATA.onStream()).isTrue();
        assertThat(FrameType.CREDIT.onStream()).isTrue();
        assertThat(FrameType.RESET.onStream()).isTrue();
        assertThat(FrameType.PING.onStream()).isFalse();
        assertThat(FrameType.PONG.onStream()).isFalse();
        assertThat(FrameType.GOAWAY.onStream()).isFalse();
        assertThat(FrameType.SESSION.onStream()).isFalse();
        assertThat(FrameType.RESUME.onStream()).isFalse();
        assertThat(FrameType.RESUME_OK.onStream()).isFalse();
    }

    /** The payload length column of the table in section 1, boundaries included. */
    @Test
    void frameTypePayloadLengths() {
        int maxData = 16_384;
        assertLengths(FrameType.HELLO, 20, 20, maxData);
        assertLengths(FrameType.OPEN, 1, 255, maxData);
        assertLengths(FrameType.OPEN_OK, 0, 0, maxData);
        assertLengths(FrameType.DATA, 0, maxData, maxData);
        assertLengths(FrameType.CREDIT, 16, 16, maxData);
        assertLengths(FrameType.SESSION, 80, 80, maxData);
        assertLengths(FrameType.RESUME, 88, 1_376_344, maxData);
        assertLengths(FrameType.RESUME_OK, 40, 1_376_296, maxData);
        assertLengths(FrameType.RESET, 12, 1036, maxData);
        assertLengths(FrameType.PING, 8, 8, maxData);
        assertLengths(FrameType.PONG, 8, 8, maxData);
        assertLengths(FrameType.GOAWAY, 8, 1032, maxData);
        assertThat(FrameType.DATA.allowsLength(0xFFFF_FFFFL, maxData)).isFalse();
    }

    private static void assertLengths(FrameType type, long min, long max, int maxData) {
        assertThat(type.allowsLength(min, maxData)).as("%s length %d", type, min).isTrue();
        assertThat(type.allowsLength(max, maxData)).as("%s length %d", type, max).isTrue();
        if (min > 0) {
            assertThat(type.allowsLength(min - 1, maxData)).as("%s length %d", type, min - 1).isFalse();
        }
        assertThat(type.allowsLength(max + 1, maxData)).as("%s length %d", type, max + 1).isFalse();
    }

    @Test
    void errorCodes() {
        assertThat(ErrorCode.NO_ERROR.code()).isEqualTo(0);
        assertThat(ErrorCode.PROTOCOL_ERROR.code()).isEqualTo(1);
        assertThat(ErrorCode.FLOW_CONTROL_ERROR.code()).isEqualTo(2);
        assertThat(ErrorCode.FRAME_SIZE_ERROR.code()).isEqualTo(3);
        assertThat(ErrorCode.UNSUPPORTED_VERSION.code()).isEqualTo(4);
        assertThat(ErrorCode.UNKNOWN_ROUTE.code()).isEqualTo(5);
        assertThat(ErrorCode.CONNECT_FAILED.code()).isEqualTo(6);
        assertThat(ErrorCode.LOCAL_IO_ERROR.code()).isEqualTo(7);
        assertThat(ErrorCode.CANCELLED.code()).isEqualTo(8);
        assertThat(ErrorCode.REFUSED.code()).isEqualTo(9);
        assertThat(ErrorCode.KEEPALIVE_TIMEOUT.code()).isEqualTo(10);
        assertThat(ErrorCode.INTERNAL_ERROR.code()).isEqualTo(11);
        assertThat(ErrorCode.EXCESSIVE_LOAD.code()).isEqualTo(12);
        assertThat(ErrorCode.RESUME_REFUSED.code()).isEqualTo(13);
        assertThat(ErrorCode.values()).hasSize(14);
    }

    @Test
    void errorCodeLookupAndUnknownCodes() {
        for (ErrorCode c : ErrorCode.values()) {
            assertThat(ErrorCode.fromCode(c.code())).isSameAs(c);
            assertThat(ErrorCode.describe(c.code())).isEqualTo(c.name());
        }
        assertThat(ErrorCode.fromCode(14)).isNull();
        assertThat(ErrorCode.describe(14)).isEqualTo("UNKNOWN(14)");
        assertThat(ErrorCode.describe(0xFFFF_FFFFL)).isEqualTo("UNKNOWN(4294967295)");
    }

    @Test
    void limits() {
        assertThat(Limits.HEADER_LENGTH).isEqualTo(12);
        assertThat(Limits.MAX_NAME_BYTES).isEqualTo(255);
        assertThat(Limits.MAX_MESSAGE_BYTES).isEqualTo(1024);
        assertThat(Limits.MIN_STREAM_WINDOW).isEqualTo(65_536);
        assertThat(Limits.MIN_FRAME_PAYLOAD).isEqualTo(16_384);
        assertThat(Limits.MAX_FRAME_PAYLOAD).isEqualTo(16_777_216);
        assertThat(Limits.VERSION).isEqualTo(1);
    }

    @Test
    void magicIsMgtn() {
        assertThat(Limits.MAGIC).isEqualTo(0x4D47544E);
        byte[] ascii = ByteBuffer.allocate(4).putInt(Limits.MAGIC).array();
        assertThat(new String(ascii, StandardCharsets.US_ASCII)).isEqualTo("MGTN");
    }

    @Test
    void flagsAndStreamIds() {
        assertThat(Frame.FLAG_FIN).isEqualTo(0x01);
        assertThat(FrameDecoder.MAX_STREAM_ID).isEqualTo(0x7FFF_FFFFL).isEqualTo((1L << 31) - 1);
    }
}
