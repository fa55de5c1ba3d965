package io.migtunnel.mux.internal;

import io.migtunnel.protocol.Frame;
import io.migtunnel.protocol.FrameDecoder;
import io.migtunnel.protocol.Limits;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;

/** A {@link FrameSink} that keeps every byte a session writes, for tests that read it back as frames. */
final class RecordingSink implements FrameSink {
    /** Everything written, in order; the test releases it. */
    final ByteBuf written = Unpooled.buffer();
    boolean closed;
    boolean writeAfterClose;
    /** What {@link #isWritable()} answers: a test makes the connection's outbound buffer full with false. */
    boolean writable = true;
    /** The connection turns unwritable once this many bytes have been written (a full outbound buffer). */
    long writableUntil = Long.MAX_VALUE;
    /** Bytes written while {@link #writable} was false: what a real connection would have had to queue. */
    long writtenWhileUnwritable;

    /** The types of the frames written so far, in order; {@link #written} is left as it is. */
    java.util.List<io.migtunnel.protocol.FrameType> writtenTypes(int maxFramePayload) {
        java.util.List<io.migtunnel.protocol.FrameType> types = new java.util.ArrayList<>();
        ByteBuf copy = written.duplicate();
        io.migtunnel.protocol.Frame f;
        while ((f = io.migtunnel.protocol.FrameDecoder.decode(copy, maxFramePayload)) != null) {
            types.add(f.type());
            f.release();
        }
        return types;
    }

    @Override
    public ByteBufAllocator alloc() {
        return ByteBufAllocator.DEFAULT;
    }

    @Override
    public void write(ByteBuf bytes) {
        if (closed) {
            writeAfterClose = true;
        }
        if (!writable) {
            writtenWhileUnwritable += bytes.readableBytes();
        }
        written.writeBytes(bytes);
        bytes.release();
    }

    @Override
    public void flush() {
    }

    @Override
    public boolean isWritable() {
        return writable && written.writerIndex() < writableUntil;
    }

    @Override
    public long outboundBufferedBytes() {
        return writtenWhileUnwritable;
    }

    @Override
    public void close() {
        closed = true;
    }

    /** Frames written since the last call, payloads copied out (the caller releases them). */
    List<Frame> drain() {
        List<Frame> frames = new ArrayList<>();
        Frame f;
        while ((f = FrameDecoder.decode(written, Limits.MAX_FRAME_PAYLOAD)) != null) {
            ByteBuf copy = Unpooled.copiedBuffer(f.payload());
            f.release();
            frames.add(new Frame(f.type(), f.flags(), f.streamId(), copy));
        }
        written.discardReadBytes();
        return frames;
    }
}
