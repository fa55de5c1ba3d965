package io.migtunnel.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * DATA (section 5). The header is encoded alone so that the payload buffer is written after it
 * without a copy.
 */
public final class DataFrameCodec {
    private DataFrameCodec() {
    }

    public static ByteBuf encodeHeader(ByteBufAllocator alloc, int streamId, boolean fin, int payloadLength) {
        return FrameHeaderCodec.encode(alloc, FrameType.DATA, fin ? Frame.FLAG_FIN : 0, streamId, payloadLength, 0);
    }

    /** Header and payload as one buffer; takes ownership of {@code payload}. */
    public static ByteBuf encode(ByteBufAllocator alloc, int streamId, boolean fin, ByteBuf payload) {
        ByteBuf header = encodeHeader(alloc, streamId, fin, payload.readableBytes());
        return alloc.compositeBuffer(2).addComponents(true, header, payload);
    }
}
