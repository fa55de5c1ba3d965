package io.migtunnel.mux.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;

/**
 * Keeps a buffered DATA payload from pinning much more memory than itself. A payload arrives as a
 * retained slice of what the transport read (up to a few MiB, possibly several reads joined), and
 * one such slice keeps all of it allocated. A payload that is still buffered after delivery was
 * offered to the consumer, and is less than half of the memory it pins, is copied into a buffer of
 * its own: buffered payloads then hold at most twice their bytes, so the session buffer limit
 * bounds memory and not only payload bytes. Payloads taken at once are never copied.
 */
final class PayloadCompaction {
    private PayloadCompaction() {
    }

    /** {@code payload}, or an exact copy of it (releasing {@code payload}) when it pins more than twice its size. */
    static ByteBuf compact(ByteBuf payload) {
        int length = payload.readableBytes();
        if (pinnedBytes(payload) <= 2L * length) {
            return payload;
        }
        ByteBuf copy = payload.alloc().buffer(length, length);
        copy.writeBytes(payload, payload.readerIndex(), length);
        payload.release();
        return copy;
    }

    /** The capacity of the buffers {@code buf} keeps allocated: its root buffer's, or its components'. */
    static long pinnedBytes(ByteBuf buf) {
        ByteBuf root = buf;
        while (root.unwrap() != null) {
            root = root.unwrap();
        }
        if (root instanceof CompositeByteBuf composite) {
            long total = 0;
            for (int i = 0; i < composite.numComponents(); i++) {
                total += pinnedBytes(composite.internalComponent(i));
            }
            return total;
        }
        return root.capacity();
    }
}
