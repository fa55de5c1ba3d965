package io.migtunnel.mux.internal;

import io.netty.buffer.ByteBuf;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * What one stream has sent and the peer has not reported as consumed, kept for retransmission
 * after a lost connection (PROTOCOL.md section 13.4). Credit bounds it: at most one stream window.
 * Holds duplicates of the payloads written, so it pins their memory and copies nothing. NOT
 * thread safe: confined to the session's event loop.
 */
final class RetainedBytes {
    private final ArrayDeque<ByteBuf> chunks = new ArrayDeque<>();
    /** Offset of the first retained byte: the consumed offset the peer last reported. */
    private long start;
    /** Offset after the last byte sent. */
    private long end;

    /** Keeps the bytes of {@code payload}, just written; the caller keeps its own reference. */
    void sent(ByteBuf payload) {
        int length = payload.readableBytes();
        if (length > 0) {
            chunks.add(payload.retainedDuplicate());
            end += length;
        }
    }

    /** The peer consumed everything below {@code consumed}: those bytes are released. */
    void consumedTo(long consumed) {
        while (start < consumed && !chunks.isEmpty()) {
            ByteBuf head = chunks.peek();
            long n = head.readableBytes();
            if (start + n <= consumed) {
                chunks.poll().release();
                start += n;
            } else {
                head.skipBytes((int) (consumed - start));
                start = consumed;
            }
        }
    }

    long start() {
        return start;
    }

    long end() {
        return end;
    }

    long bytes() {
        return end - start;
    }

    /**
     * The bytes from {@code from} to the end, as slices of at most {@code maxFrame} bytes that the
     * caller owns. {@code from} is within {@link #start()}..{@link #end()}.
     */
    List<ByteBuf> from(long from, int maxFrame) {
        List<ByteBuf> out = new ArrayList<>();
        long at = start;
        for (ByteBuf chunk : chunks) {
            int length = chunk.readableBytes();
            if (at + length > from) {
                int skip = (int) Math.max(0, from - at);
                for (int i = chunk.readerIndex() + skip; i < chunk.writerIndex(); i += maxFrame) {
                    out.add(chunk.retainedSlice(i, Math.min(maxFrame, chunk.writerIndex() - i)));
                }
            }
            at += length;
        }
        return out;
    }

    /** Releases everything. */
    void release() {
        ByteBuf b;
        while ((b = chunks.poll()) != null) {
            b.release();
        }
        start = end;
    }
}
