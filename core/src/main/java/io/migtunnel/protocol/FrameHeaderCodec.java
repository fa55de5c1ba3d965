package io.migtunnel.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/** The fixed 12-byte header (section 1): type, flags, reserved, stream id, payload length. */
public final class FrameHeaderCodec {
    private FrameHeaderCodec() {
    }

    /** Allocates a buffer with room for the header plus {@code extra} bytes and writes the header. */
    public static ByteBuf encode(ByteBufAllocator alloc, FrameType type, int flags, int streamId,
                                 int payloadLength, int extra) {
        ByteBuf buf = alloc.buffer(Limits.HEADER_LENGTH + extra);
        write(buf, type, flags, streamId, payloadLength);
        return buf;
    }

    /** Writes a header into {@code buf} at its writer index. */
    public static void write(ByteBuf buf, FrameType type, int flags, int streamId, int payloadLength) {
        buf.writeByte(type.code());
        buf.writeByte(flags);
        buf.writeShort(0);
        buf.writeInt(streamId);
        buf.writeInt(payloadLength);
    }

    public static int type(ByteBuf buf, int index) {
        return buf.getUnsignedByte(index);
    }

    public static int flags(ByteBuf buf, int index) {
        return buf.getUnsignedByte(index + 1);
    }

    public static long streamId(ByteBuf buf, int index) {
        return buf.getUnsignedInt(index + 4);
    }

    public static long payloadLength(ByteBuf buf, int index) {
        return buf.getUnsignedInt(index + 8);
    }
}
