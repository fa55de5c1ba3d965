package io.migtunnel.mux.internal;

import io.migtunnel.protocol.Frame;
import io.migtunnel.protocol.FrameDecoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.util.concurrent.EventExecutor;
import java.util.ArrayList;
import java.util.List;

/**
 * Joins two sessions on one event loop without a network: what one flushes is decoded and handed
 * to the other in a later loop task, as a connection would.
 */
final class LoopbackSink implements FrameSink {
    private final EventExecutor loop;
    private final List<ByteBuf> queued = new ArrayList<>();
    private MuxSession peer;
    private boolean closed;

    LoopbackSink(EventExecutor loop) {
        this.loop = loop;
    }

    void connectTo(MuxSession peerSession) {
        this.peer = peerSession;
    }

    @Override
    public ByteBufAllocator alloc() {
        return ByteBufAllocator.DEFAULT;
    }

    @Override
    public void write(ByteBuf bytes) {
        if (closed) {
            bytes.release();
            return;
        }
        queued.add(bytes);
    }

    @Override
    public void flush() {
        if (queued.isEmpty()) {
            return;
        }
        CompositeByteBuf bytes = ByteBufAllocator.DEFAULT.compositeBuffer(queued.size());
        bytes.addComponents(true, queued);
        queued.clear();
        loop.execute(() -> deliver(bytes));
    }

    /** Sessions flush whole frames, so every flush decodes completely. */
    private void deliver(CompositeByteBuf bytes) {
        try {
            Frame frame;
            while ((frame = FrameDecoder.decode(bytes, peer.config().maxFramePayload())) != null) {
                peer.onFrame(frame);
            }
        } finally {
            bytes.release();
        }
    }

    @Override
    public boolean isWritable() {
        return !closed;
    }

    @Override
    public long outboundBufferedBytes() {
        long total = 0;
        for (ByteBuf b : queued) {
            total += b.readableBytes();
        }
        return total;
    }

    @Override
    public void close() {
        if (!closed) {
            flush();
            closed = true;
            loop.execute(() -> peer.onConnectionClosed(null));
        }
    }
}
