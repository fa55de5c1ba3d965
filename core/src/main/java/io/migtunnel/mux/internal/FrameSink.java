package io.migtunnel.mux.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * The connection under a {@link MuxSession}, as the session sees it. Implemented by the transport;
 * called only from the session's event loop, which makes the session the connection's one writer.
 */
public interface FrameSink {
    /** The allocator for frames. */
    ByteBufAllocator alloc();

    /** Queues encoded frame bytes for writing; takes ownership of {@code bytes}. */
    void write(ByteBuf bytes);

    /** Writes what was queued. */
    void flush();

    /** Whether the connection's outbound buffer is below its high-water mark. */
    boolean isWritable();

    /** Bytes written and not yet handed to the socket; safe to call from any thread. */
    long outboundBufferedBytes();

    /** Flushes what was queued, then closes the connection. */
    void close();
}
