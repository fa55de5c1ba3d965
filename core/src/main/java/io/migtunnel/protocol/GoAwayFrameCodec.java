package io.migtunnel.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/** GOAWAY (section 9): error code u32, last stream id u32, UTF-8 message. */
public final class GoAwayFrameCodec {
    private GoAwayFrameCodec() {
    }

    public static ByteBuf encode(ByteBufAllocator alloc, ErrorCode code, int lastStreamId, String message) {
        byte[] text = Text.utf8(message, Limits.MAX_MESSAGE_BYTES);
        ByteBuf buf = FrameHeaderCodec.encode(alloc, FrameType.GOAWAY, 0, 0, 8 + text.length, 8 + text.length);
        buf.writeInt(code.code());
        buf.writeInt(lastStreamId);
        buf.writeBytes(text);
        return buf;
    }

    public static long code(ByteBuf payload) {
        return payload.getUnsignedInt(payload.readerIndex());
    }

    public static long lastStreamId(ByteBuf payload) {
        return payload.getUnsignedInt(payload.readerIndex() + 4);
    }

    public static String message(ByteBuf payload) {
        return Text.read(payload, payload.readerIndex() + 8, payload.readableBytes() - 8);
    }
}
