package io.migtunnel.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/** HELLO (section 3): magic, version, flags, stream window, max frame payload, max streams. */
public final class HelloFrameCodec {
    private HelloFrameCodec() {
    }

    /** Flag: the sender keeps sessions for resumption (section 13.1). */
    public static final int RESUMABLE = 0x0001;
    /** Flag (client only, with {@link #RESUMABLE}): this connection resumes a session. */
    public static final int RESUME = 0x0002;

    /** HELLO with no flags. */
    public static ByteBuf encode(ByteBufAllocator alloc, int version, int streamWindow, int maxFramePayload,
                                 int maxConcurrentStreams) {
        return encode(alloc, version, 0, streamWindow, maxFramePayload, maxConcurrentStreams);
    }

    public static ByteBuf encode(ByteBufAllocator alloc, int version, int flags, int streamWindow, int maxFramePayload,
                                 int maxConcurrentStreams) {
        ByteBuf buf = FrameHeaderCodec.encode(alloc, FrameType.HELLO, 0, 0, 20, 20);
        buf.writeInt(Limits.MAGIC);
        buf.writeShort(version);
        buf.writeShort(flags);
        buf.writeInt(streamWindow);
        buf.writeInt(maxFramePayload);
        buf.writeInt(maxConcurrentStreams);
        return buf;
    }

    /** Validates a received HELLO payload and returns the peer's limits. */
    public static PeerLimits decode(ByteBuf payload) {
        int i = payload.readerIndex();
        long magic = payload.getUnsignedInt(i);
        int version = payload.getUnsignedShort(i + 4);
        if (magic != Limits.MAGIC) {
            throw new ProtocolException(ErrorCode.UNSUPPORTED_VERSION,
                "HELLO magic 0x" + Long.toHexString(magic) + " is not MGTN (not a migtunnel peer?)");
        }
        if (version != Limits.VERSION) {
            throw new ProtocolException(ErrorCode.UNSUPPORTED_VERSION,
                "peer speaks protocol version " + version + ", this side speaks " + Limits.VERSION);
        }
        long window = payload.getUnsignedInt(i + 8);
        long maxFrame = payload.getUnsignedInt(i + 12);
        long maxStreams = payload.getUnsignedInt(i + 16);
        if (window < Limits.MIN_STREAM_WINDOW || window > Integer.MAX_VALUE) {
            throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "HELLO stream window " + window + " out of range");
        }
        if (maxFrame < Limits.MIN_FRAME_PAYLOAD || maxFrame > Limits.MAX_FRAME_PAYLOAD) {
            throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "HELLO max frame payload " + maxFrame + " out of range");
        }
        if (maxStreams < 1 || maxStreams > Integer.MAX_VALUE) {
            throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "HELLO max concurrent streams " + maxStreams + " out of range");
        }
        return new PeerLimits((int) window, (int) maxFrame, (int) maxStreams);
    }

    /**
     * The flags of a HELLO that {@link #decode} accepted.
     *
     * @throws ProtocolException {@code PROTOCOL_ERROR} for reserved bits, or {@link #RESUME}
     *                           without {@link #RESUMABLE}
     */
    public static int flags(ByteBuf payload) {
        int flags = payload.getUnsignedShort(payload.readerIndex() + 6);
        if ((flags & ~(RESUMABLE | RESUME)) != 0) {
            throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "HELLO flags 0x" + Integer.toHexString(flags)
                + " set reserved bits");
        }
        if ((flags & RESUME) != 0 && (flags & RESUMABLE) == 0) {
            throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "HELLO flags RESUME without RESUMABLE");
        }
        return flags;
    }

    /** What a peer announced in its HELLO. */
    public record PeerLimits(int streamWindow, int maxFramePayload, int maxConcurrentStreams) {
    }
}
