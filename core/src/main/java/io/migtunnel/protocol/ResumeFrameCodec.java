package io.migtunnel.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/** RESUME (section 13.2): token (16), client nonce (32), proof (32), then the client's stream table. */
public final class ResumeFrameCodec {
    public static final int PROOF_BYTES = 32;
    static final int FIXED = SessionFrameCodec.TOKEN_BYTES + SessionFrameCodec.NONCE_BYTES + PROOF_BYTES;

    private ResumeFrameCodec() {
    }

    public static ByteBuf encode(ByteBufAllocator alloc, byte[] token, byte[] clientNonce, byte[] proof,
                                 ResumeTable table) {
        int length = FIXED + table.encodedLength();
        ByteBuf buf = FrameHeaderCodec.encode(alloc, FrameType.RESUME, 0, 0, length, length);
        buf.writeBytes(Bytes.exactly(token, SessionFrameCodec.TOKEN_BYTES, "token"));
        buf.writeBytes(Bytes.exactly(clientNonce, SessionFrameCodec.NONCE_BYTES, "client nonce"));
        buf.writeBytes(Bytes.exactly(proof, PROOF_BYTES, "proof"));
        table.writeTo(buf);
        return buf;
    }

    public static byte[] token(ByteBuf payload) {
        return Bytes.get(payload, 0, SessionFrameCodec.TOKEN_BYTES);
    }

    public static byte[] clientNonce(ByteBuf payload) {
        return Bytes.get(payload, SessionFrameCodec.TOKEN_BYTES, SessionFrameCodec.NONCE_BYTES);
    }

    public static byte[] proof(ByteBuf payload) {
        return Bytes.get(payload, SessionFrameCodec.TOKEN_BYTES + SessionFrameCodec.NONCE_BYTES, PROOF_BYTES);
    }

    /** The client's stream table, validated. */
    public static ResumeTable table(ByteBuf payload) {
        return ResumeTable.read(payload, payload.readerIndex() + FIXED, payload.readableBytes() - FIXED);
    }
}
