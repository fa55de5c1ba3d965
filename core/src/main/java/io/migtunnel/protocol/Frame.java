package io.migtunnel.protocol;

import io.netty.buffer.ByteBuf;

/**
 * One decoded frame: the header fields and the payload, which this frame owns until
 * {@link #release()} or until it is handed on with {@link #takePayload()}.
 */
public final class Frame {
    /** DATA flag: the sender's direction of the stream ends after this frame. */
    public static final int FLAG_FIN = 0x01;

    private final FrameType type;
    private final int flags;
    private final int streamId;
    private ByteBuf payload;

    public Frame(FrameType type, int flags, int streamId, ByteBuf payload) {
        this.type = type;
        this.flags = flags;
        this.streamId = streamId;
        this.payload = payload;
    }

    public FrameType type() {
        return type;
    }

    public int flags() {
        return flags;
    }

    public boolean fin() {
        return (flags & FLAG_FIN) != 0;
    }

    public int streamId() {
        return streamId;
    }

    /** The payload, still owned by this frame. */
    public ByteBuf payload() {
        return payload;
    }

    /** Hands the payload's ownership to the caller; {@link #release()} then does nothing. */
    public ByteBuf takePayload() {
        ByteBuf p = payload;
        payload = null;
        return p;
    }

    /** Releases the payload if this frame still owns it. */
    public void release() {
        if (payload != null) {
            payload.release();
            payload = null;
        }
    }

    @Override
    public String toString() {
        return type + "(stream=" + streamId + ", flags=" + flags + ", length="
            + (payload == null ? "-" : payload.readableBytes()) + ")";
    }
}
