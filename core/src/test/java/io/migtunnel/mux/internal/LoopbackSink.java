package io.migtunnel.mux.internal;

import io.migtunnel.protocol.Frame;
import io.migtunnel.protocol.FrameDecoder;
import io.migtunnel.protocol.FrameHeaderCodec;
import io.migtunnel.protocol.Limits;
import io.migtunnel.protocol.FrameType;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.util.concurrent.EventExecutor;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Joins two sessions on one event loop without a network: what one flushes is decoded and handed
 * to the other in a later loop task, as a connection would. It can also fail as a network does:
 * {@link #cut()} drops what was not delivered and tells the receiver its connection failed (a
 * TCP reset), {@link #stall()} stops delivering without a word (a black hole), and
 * {@link #cutOnWrite} cuts when the writer writes a chosen frame.
 */
final class LoopbackSink implements FrameSink {
    private final EventExecutor loop;
    private final List<ByteBuf> queued = new ArrayList<>();
    private FrameReceiver peer;
    private int maxFrame;
    private boolean closed;
    private boolean stalled;
    /** Bytes of a DATA payload still to be written after its header (the writer writes them apart). */
    private long payloadExpected;
    private Predicate<ByteBuf> cutWhen = bytes -> false;
    private Runnable onCut = () -> { };

    LoopbackSink(EventExecutor loop) {
        this.loop = loop;
    }

    void connectTo(MuxSession peerSession) {
        connectTo(peerSession, peerSession.config().maxFramePayload());
    }

    void connectTo(FrameReceiver receiver, int maxFramePayload) {
        this.peer = receiver;
        this.maxFrame = maxFramePayload;
    }

    /**
     * Cuts this wire (and runs {@code alsoCut}, e.g. the other direction's cut) as soon as the
     * writer writes a frame of {@code type} (for DATA: with FIN when {@code fin}): that frame, and
     * what is queued, are lost.
     */
    void cutOnWrite(FrameType type, boolean fin, Runnable alsoCut) {
        cutWhen(bytes -> bytes.readableBytes() >= Limits.HEADER_LENGTH
            && bytes.getUnsignedByte(bytes.readerIndex()) == type.code()
            && (!fin || (bytes.getUnsignedByte(bytes.readerIndex() + 1) & Frame.FLAG_FIN) != 0), alsoCut);
    }

    /**
     * Cuts this wire (and runs {@code alsoCut}) when {@code frame}, shown the first bytes of each
     * frame written (a whole frame, or a DATA header), answers true.
     */
    void cutWhen(Predicate<ByteBuf> frame, Runnable alsoCut) {
        this.cutWhen = frame;
        this.onCut = alsoCut;
    }

    /** A reset: what was not delivered is lost, later writes too, and the receiver is told. */
    void cut() {
        if (closed) {
            return;
        }
        closed = true;
        queued.forEach(ByteBuf::release);
        queued.clear();
        loop.execute(() -> peer.onConnectionClosed(new java.io.IOException("connection reset (test cut)")));
    }

    /** A black hole: nothing more is delivered and nobody is told. */
    void stall() {
        stalled = true;
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
        boolean frameStart = payloadExpected == 0;
        if (frameStart && bytes.readableBytes() == Limits.HEADER_LENGTH
            && bytes.getUnsignedByte(bytes.readerIndex()) == FrameType.DATA.code()) {
            payloadExpected = FrameHeaderCodec.payloadLength(bytes, bytes.readerIndex());
        } else if (!frameStart) {
            payloadExpected -= bytes.readableBytes();
        }
        if (frameStart && cutWhen.test(bytes)) {
            cutWhen = b -> false;
            cut();
            onCut.run();
        }
    }

    @Override
    public void flush() {
        if (queued.isEmpty()) {
            return;
        }
        if (stalled) {
            queued.forEach(ByteBuf::release);
            queued.clear();
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
            while ((frame = FrameDecoder.decode(bytes, maxFrame)) != null) {
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
