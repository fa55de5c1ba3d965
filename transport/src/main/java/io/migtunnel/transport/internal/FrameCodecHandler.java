package io.migtunnel.transport.internal;

import io.migtunnel.mux.internal.FrameReceiver;
import io.migtunnel.protocol.Frame;
import io.migtunnel.protocol.FrameDecoder;
import io.migtunnel.protocol.ProtocolException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Cuts the tunnel connection's bytes into frames and hands each straight to the session's
 * {@link FrameReceiver}, on the channel's event loop. It never stops reading: a full stream is one whose peer has no credit,
 * so the session can always take what arrives. After a malformed frame it discards the rest.
 */
final class FrameCodecHandler extends ByteToMessageDecoder {
    private final FrameReceiver session;
    private final int maxFramePayload;
    private boolean broken;

    FrameCodecHandler(FrameReceiver session, int maxFramePayload) {
        this.session = session;
        this.maxFramePayload = maxFramePayload;
        // DATA payloads are retained slices of what was read, so the cumulation is nearly always
        // shared: the merging cumulator would then copy every byte received into a new buffer.
        // The composite one links reads together instead and never copies.
        setCumulator(COMPOSITE_CUMULATOR);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (broken) {
            in.skipBytes(in.readableBytes());
            return;
        }
        try {
            Frame frame;
            while ((frame = FrameDecoder.decode(in, maxFramePayload)) != null) {
                session.onFrame(frame);
            }
        } catch (ProtocolException e) {
            broken = true;
            in.skipBytes(in.readableBytes());
            session.onDecodeError(e);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        session.onWritabilityChanged();
        super.channelWritabilityChanged(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        session.onConnectionClosed(null);
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        session.onConnectionClosed(cause);
        ctx.close();
    }
}
