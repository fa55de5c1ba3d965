package io.migtunnel.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/** RESUME_OK (section 13.2): the server's proof (32), then its stream table. */
public final class ResumeOkFrameCodec {
    private ResumeOkFrameCodec() {
    }

    public static ByteBuf encode(ByteBufAllocator alloc, byte[] proof, ResumeTable table) {
        int length = ResumeFrameCodec.PROOF_BYTES + table.encodedLength();
        ByteBuf buf = FrameHeaderCodec.encode(alloc, FrameType.RESUME_OK, 0, 0, length, length);
        buf.writeBytes(Bytes.exactly(proof, ResumeFrameCodec.PROOF_BYTES, "proof"));
        table.writeTo(buf);
        return buf;
    }

    public static byte[] proof(ByteBuf payload) {
        return Bytes.get(payload, 0, ResumeFrameCodec.PROOF_BYTES);
    }

    /** The server's stream table, validated. */
    public static ResumeTable table(ByteBuf payload) {
        return ResumeTable.read(payload, payload.readerIndex() + ResumeFrameCodec.PROOF_BYTES,
            payload.readableBytes() - ResumeFrameCodec.PROOF_BYTES);
    }
}
