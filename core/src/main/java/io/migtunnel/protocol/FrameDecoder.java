package io.migtunnel.protocol;

import io.netty.buffer.ByteBuf;

/**
 * Cuts frames out of a byte stream. The header is validated as soon as it is complete, before
 * the payload is waited for, so a peer can never make the receiver buffer an unchecked length.
 */
public final class FrameDecoder {
    /** Stream ids use 31 bits; the high bit is reserved. */
    public static final long MAX_STREAM_ID = 0x7FFF_FFFFL;

    private FrameDecoder() {
    }

    /**
     * Decodes the next frame from {@code in}, advancing its reader index, or returns {@code null}
     * (reader index unchanged) when more bytes are needed.
     *
     * @param maxDataPayload the largest DATA payload this side advertised
     * @throws ProtocolException when the header is malformed
     */
    public static Frame decode(ByteBuf in, int maxDataPayload) {
        if (in.readableBytes() < Limits.HEADER_LENGTH) {
            return null;
        }
        int at = in.readerIndex();
        int code = FrameHeaderCodec.type(in, at);
        FrameType type = FrameType.fromCode(code);
        if (type == null) {
            throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "unknown frame type 0x" + Integer.toHexString(code));
        }
        long streamId = FrameHeaderCodec.streamId(in, at);
        long length = FrameHeaderCodec.payloadLength(in, at);
        if (streamId > MAX_STREAM_ID) {
            throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, type + " with stream id " + streamId + " above 2^31-1");
        }
        if (type.onStream() != (streamId != 0)) {
            throw new ProtocolException(ErrorCode.PROTOCOL_ERROR,
                type + (type.onStream() ? " on stream 0" : " on stream " + streamId + " (must be 0)"));
        }
        if (!type.allowsLength(length, maxDataPayload)) {
            throw new ProtocolException(ErrorCode.FRAME_SIZE_ERROR, type + " with payload length " + length
                + (type == FrameType.DATA ? " above max frame payload " + maxDataPayload : " not allowed"));
        }
        int flags = FrameHeaderCodec.flags(in, at);
        if (type == FrameType.DATA && length == 0 && (flags & Frame.FLAG_FIN) == 0) {
            throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "empty DATA without FIN on stream " + streamId);
        }
        if (in.readableBytes() < Limits.HEADER_LENGTH + length) {
            return null;
        }
        in.skipBytes(Limits.HEADER_LENGTH);
        ByteBuf payload = in.readRetainedSlice((int) length);
        return new Frame(type, flags, (int) streamId, payload);
    }
}
