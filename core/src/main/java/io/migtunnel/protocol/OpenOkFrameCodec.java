package io.migtunnel.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/** OPEN_OK (section 4): no payload. */
public final class OpenOkFrameCodec {
    private OpenOkFrameCodec() {
    }

    public static ByteBuf encode(ByteBufAllocator alloc, int streamId) {
        return FrameHeaderCodec.encode(alloc, FrameType.OPEN_OK, 0, streamId, 0, 0);
    }
}
