package io.migtunnel.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/** CREDIT (section 6): consumed offset and limit offset, both u64. */
public final class CreditFrameCodec {
    private CreditFrameCodec() {
    }

    public static ByteBuf encode(ByteBufAllocator alloc, int streamId, long consumed, long limit) {
        ByteBuf buf = FrameHeaderCodec.encode(alloc, FrameType.CREDIT, 0, streamId, 16, 16);
        buf.writeLong(consumed);
        buf.writeLong(limit);
        return buf;
    }

    public static long consumed(ByteBuf payload) {
        return payload.getLong(payload.readerIndex());
    }

    public static long limit(ByteBuf payload) {
        return payload.getLong(payload.readerIndex() + 8);
    }
}
