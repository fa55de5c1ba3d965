package io.migtunnel.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/** PING and PONG (section 8): an opaque u64 that the PONG echoes. */
public final class PingFrameCodec {
    private PingFrameCodec() {
    }

    public static ByteBuf encodePing(ByteBufAllocator alloc, long opaque) {
        return encode(alloc, FrameType.PING, opaque);
    }

    public static ByteBuf encodePong(ByteBufAllocator alloc, long opaque) {
        return encode(alloc, FrameType.PONG, opaque);
    }

    private static ByteBuf encode(ByteBufAllocator alloc, FrameType type, long opaque) {
        ByteBuf buf = FrameHeaderCodec.encode(alloc, type, 0, 0, 8, 8);
        buf.writeLong(opaque);
        return buf;
    }

    public static long opaque(ByteBuf payload) {
        return payload.getLong(payload.readerIndex());
    }
}
