package io.migtunnel.mux.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Where a disconnected session writes: nowhere. Every frame written while no connection is up is
 * made good by the resume exchange (PROTOCOL.md section 13.4), so it can be dropped; it is never
 * writable, so no DATA is taken from producers meanwhile.
 */
final class DiscardingSink implements FrameSink {
    private final ByteBufAllocator alloc;

    DiscardingSink(ByteBufAllocator alloc) {
        this.alloc = alloc;
    }

    @Override
    public ByteBufAllocator alloc() {
        return alloc;
    }

    @Override
    public void write(ByteBuf bytes) {
        bytes.release();
    }

    @Override
    public void flush() {
    }

    @Override
    public boolean isWritable() {
        return false;
    }

    @Override
    public long outboundBufferedBytes() {
        return 0;
    }

    @Override
    public void close() {
    }
}
