package io.migtunnel.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/** RESET (section 7): error code u32, final offset u64, UTF-8 message. */
public final class ResetFrameCodec {
    private ResetFrameCodec() {
    }

    public static ByteBuf encode(ByteBufAllocator alloc, int streamId, ErrorCode code, long finalOffset,
                                 String message) {
        byte[] text = Text.utf8(message, Limits.MAX_MESSAGE_BYTES);
        ByteBuf buf = FrameHeaderCodec.encode(alloc, FrameType.RESET, 0, streamId, 12 + text.length, 12 + text.length);
        buf.writeInt(code.code());
        buf.writeLong(finalOffset);
        buf.writeBytes(text);
        return buf;
    }

    public static long code(ByteBuf payload) {
        return payload.getUnsignedInt(payload.readerIndex());
    }

    public static long finalOffset(ByteBuf payload) {
        return payload.getLong(payload.readerIndex() + 4);
    }

    public static String message(ByteBuf payload) {
        return Text.read(payload, payload.readerIndex() + 12, payload.readableBytes() - 12);
    }
}
