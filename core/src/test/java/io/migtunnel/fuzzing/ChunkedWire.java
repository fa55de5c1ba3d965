package io.migtunnel.fuzzing;

import io.migtunnel.protocol.Frame;
import io.migtunnel.protocol.FrameDecoder;
import io.migtunnel.protocol.ProtocolException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import java.util.SplittableRandom;

/**
 * Cuts a byte stream into frames the way the transport's codec handler does: the bytes arrive in
 * chunks (sizes drawn from a seed: split anywhere, inside headers too) that are appended to a
 * composite cumulation without copying, every complete frame is decoded after each chunk as a
 * retained slice, and after the first malformed header the rest is discarded.
 */
public final class ChunkedWire {
    /** Receives what the decoder produced, in order. */
    public interface Receiver {
        void onFrame(Frame frame);

        void onDecodeError(ProtocolException e);

        /** After each chunk's frames (the transport's read completes here). */
        default void afterChunk() {
        }
    }

    private ChunkedWire() {
    }

    /**
     * {@code input} from {@code offset} in a buffer of its own, even when empty (unlike
     * {@code Unpooled.wrappedBuffer}, whose empty buffer is never released), so that a test can
     * check with {@code release()} that nothing still holds a slice of it.
     */
    public static ByteBuf copyOf(byte[] input, int offset) {
        return Unpooled.buffer(input.length - offset).writeBytes(input, offset, input.length - offset);
    }

    /**
     * Feeds {@code wire} (its readable bytes; {@code wire} itself is not released) in chunks;
     * {@code splitSeed} 0 delivers everything at once. Frames handed to {@code receiver} are
     * its to release. Returns whether a decode error ended the stream.
     */
    public static boolean feed(ByteBuf wire, int splitSeed, int maxDataPayload, Receiver receiver) {
        SplittableRandom sizes = new SplittableRandom(splitSeed);
        int maxChunk = 1 + (splitSeed & 0xFF);
        CompositeByteBuf cumulation = Unpooled.compositeBuffer(Integer.MAX_VALUE);
        try {
            while (wire.isReadable()) {
                int n = splitSeed == 0 ? wire.readableBytes()
                    : Math.min(wire.readableBytes(), 1 + sizes.nextInt(maxChunk));
                cumulation.addComponent(true, wire.readRetainedSlice(n));
                try {
                    Frame f;
                    while ((f = FrameDecoder.decode(cumulation, maxDataPayload)) != null) {
                        receiver.onFrame(f);
                    }
                } catch (ProtocolException e) {
                    receiver.onDecodeError(e);
                    wire.skipBytes(wire.readableBytes());
                    return true;
                }
                cumulation.discardReadComponents();
                receiver.afterChunk();
            }
            return false;
        } finally {
            cumulation.release();
        }
    }
}
