package io.migtunnel.mux.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.protocol.HelloFrameCodec;
import io.migtunnel.protocol.Limits;
import io.migtunnel.protocol.ProtocolException;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.util.Arrays;
import java.util.HexFormat;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.Test;

/**
 * Golden values of PROTOCOL.md section 13: the HMAC-SHA256 proofs of the resume exchange over
 * fixed inputs (computed independently, with Python's hmac module), and the HELLO flags.
 */
class ResumeProofVectorTest {
    private static byte[] filled(int size, int value) {
        byte[] b = new byte[size];
        Arrays.fill(b, (byte) value);
        return b;
    }

    private static final SessionSecrets SECRETS = new SessionSecrets(filled(16, 0x22), filled(32, 0x33));
    private static final byte[] SERVER_NONCE = filled(32, 0x11);
    private static final byte[] CLIENT_NONCE = filled(32, 0x44);

    @Test
    void theClientProofIsTheHmacOfItsLabelTokenServerNonceAndClientNonce() {
        assertThat(HexFormat.of().formatHex(SECRETS.clientProof(SERVER_NONCE, CLIENT_NONCE)))
            .isEqualTo("a0518cb2725113a6212a6236e3cc1675a1a1bd51a337a8fae7b77b999c5fcb35");
    }

    @Test
    void theServerProofSwapsTheLabelAndTheNonces() {
        assertThat(HexFormat.of().formatHex(SECRETS.serverProof(SERVER_NONCE, CLIENT_NONCE)))
            .isEqualTo("3f1a468047e1ba43f15ac88b77f9bbbbfa8845c9b25ace924a275dbd6d8beafb");
    }

    @Test
    void helloCarriesResumableAndResumeInItsFlags() {
        String golden = "00" + "00" + "0000" + "00000000" + "00000014"     // HELLO, length 20
            + "4d47544e" + "0001" + "0003"                                  // magic, version 1, RESUMABLE | RESUME
            + "00100000" + "00010000" + "00000100";                        // window, max frame, max streams
        io.netty.buffer.ByteBuf hello = HelloFrameCodec.encode(UnpooledByteBufAllocator.DEFAULT, Limits.VERSION,
            HelloFrameCodec.RESUMABLE | HelloFrameCodec.RESUME, 1 << 20, 65_536, 256);
        try {
            assertThat(ByteBufUtil.hexDump(hello)).isEqualTo(golden);
        } finally {
            hello.release();
        }
        byte[] payload = HexFormat.of().parseHex(golden.substring(24));
        assertThat(HelloFrameCodec.flags(Unpooled.wrappedBuffer(payload))).isEqualTo(3);

        payload[7] = 0x02; // RESUME alone
        Assertions.assertThatThrownBy(() -> HelloFrameCodec.flags(Unpooled.wrappedBuffer(payload)))
            .isInstanceOf(ProtocolException.class).hasMessageContaining("RESUME without RESUMABLE");
        payload[7] = 0x04; // a reserved bit
        Assertions.assertThatThrownBy(() -> HelloFrameCodec.flags(Unpooled.wrappedBuffer(payload)))
            .isInstanceOf(ProtocolException.class).hasMessageContaining("reserved bits");
    }
}
