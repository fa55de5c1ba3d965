package io.migtunnel.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/** OPEN (section 4): the payload is the stream name. */
public final class OpenFrameCodec {
    private OpenFrameCodec() {
    }

    public static ByteBuf encode(ByteBufAllocator alloc, int streamId, String name) {
        byte[] b = StreamNames.requireValid(name).getBytes(StandardCharsets.UTF_8);
        ByteBuf buf = FrameHeaderCodec.encode(alloc, FrameType.OPEN, 0, streamId, b.length, b.length);
        buf.writeBytes(b);
        return buf;
    }

    /** The stream name; throws a {@link ProtocolException} when it is not a valid name. */
    public static String name(ByteBuf payload) {
        String name = Text.read(payload, payload.readerIndex(), payload.readableBytes());
        String problem = StreamNames.problem(name);
        if (problem != null) {
            throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "OPEN with invalid name: " + problem);
        }
        return name;
    }
}
