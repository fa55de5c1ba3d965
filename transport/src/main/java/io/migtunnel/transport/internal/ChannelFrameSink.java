package io.migtunnel.transport.internal;

import io.migtunnel.mux.internal.FrameSink;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** A {@link FrameSink} over the tunnel's Netty channel. */
final class ChannelFrameSink implements FrameSink {
    /**
     * How long {@link #close()} waits for what was queued (the last GOAWAY) to be flushed: a peer
     * that stopped reading would otherwise keep the connection, and its outbound buffer, forever.
     */
    static final Duration CLOSE_FLUSH_TIMEOUT = Duration.ofSeconds(5);

    private final Channel channel;

    ChannelFrameSink(Channel channel) {
        this.channel = channel;
    }

    @Override
    public ByteBufAllocator alloc() {
        return channel.alloc();
    }

    @Override
    public void write(ByteBuf bytes) {
        channel.write(bytes, channel.voidPromise());
    }

    @Override
    public void flush() {
        channel.flush();
    }

    @Override
    public boolean isWritable() {
        return channel.isWritable();
    }

    /** Includes Netty's overhead per queued message: the memory held, not only the frame bytes. */
    @Override
    public long outboundBufferedBytes() {
        ChannelOutboundBuffer out = channel.unsafe().outboundBuffer();
        return out == null ? 0 : out.totalPendingWriteBytes();
    }

    @Override
    public void close() {
        if (channel.isActive()) {
            channel.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            ScheduledFuture<?> deadline = channel.eventLoop().schedule(() -> channel.close(), CLOSE_FLUSH_TIMEOUT.toNanos(), TimeUnit.NANOSECONDS);
            channel.closeFuture().addListener(f -> deadline.cancel(false));
        } else {
            channel.close();
        }
    }
}
