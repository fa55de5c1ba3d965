package io.migtunnel.transport.internal;

import io.migtunnel.mux.MuxStream;
import io.migtunnel.mux.SessionClosedException;
import io.migtunnel.mux.StreamResetException;
import io.migtunnel.protocol.ErrorCode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import org.reactivestreams.Subscription;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;

/**
 * Joins one local socket to one tunnel stream, both directions, byte for byte.
 *
 * <p>Local → tunnel: the socket is read only on demand ({@code autoRead} off): the stream asks for
 * a buffer when the peer has granted credit, and each request becomes one {@code read()}.
 * Tunnel → local: the stream's inbound is requested one buffer at a time while the socket is
 * writable, so what the socket has taken is exactly what is credited back to the peer.
 * EOF on the socket becomes FIN; FIN from the peer becomes {@code shutdownOutput()} once every
 * earlier byte is written. A socket error or a reset ends the stream alone.
 */
public final class LocalSocketBridge extends ChannelDuplexHandler {
    private static final Logger log = LoggerFactory.getLogger(LocalSocketBridge.class);

    private final MuxStream stream;
    private final Channel channel;
    private FluxSink<ByteBuf> reads;
    private InboundWriter writer;
    private boolean inputDone;
    private boolean outputDone;
    private boolean failed;

    private LocalSocketBridge(MuxStream stream, Channel channel) {
        this.stream = stream;
        this.channel = channel;
    }

    /**
     * Starts moving bytes between {@code channel} (a connected local socket with auto-read off
     * and half-closure allowed) and {@code stream}. Call on the channel's event loop.
     */
    public static void join(Channel channel, MuxStream stream) {
        LocalSocketBridge bridge = new LocalSocketBridge(stream, channel);
        channel.pipeline().addFirst("migtunnel.bridge", bridge);
        bridge.start();
    }

    private void start() {
        Flux<ByteBuf> localReads = Flux.<ByteBuf>create(sink -> {
            reads = sink;
            sink.onRequest(n -> runOnChannel(this::readWhileDemanded));
        }, FluxSink.OverflowStrategy.BUFFER).doOnDiscard(ByteBuf.class, ReferenceCountUtil::safeRelease);
        stream.send(localReads).subscribe(null, this::onStreamError);
        writer = new InboundWriter();
        stream.inbound().subscribe(writer);
    }

    // ---- local socket events (channel's event loop) ----

    /**
     * Reads from the socket while the stream wants data: auto-read is on exactly while there is
     * demand, so a read loop fills several buffers per wake-up, and at most one read loop's worth
     * (bounded by the allocator) is ever buffered beyond demand.
     */
    private void readWhileDemanded() {
        boolean wanted = reads != null && reads.requestedFromDownstream() > 0 && !inputDone && !failed;
        if (channel.config().isAutoRead() != wanted) {
            channel.config().setAutoRead(wanted);
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf buf && reads != null && !inputDone) {
            reads.next(buf);
            readWhileDemanded();
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof ChannelInputShutdownEvent) {
            if (!inputDone) {
                inputDone = true;
                reads.complete();
                closeIfDone();
            }
        } else if (!(evt instanceof ChannelInputShutdownReadComplete)) {
            super.userEventTriggered(ctx, evt);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        if (ctx.channel().isWritable() && writer != null) {
            writer.pull();
        }
        super.channelWritabilityChanged(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (!(inputDone && outputDone)) {
            localFailure("local socket closed before the stream finished");
        }
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("local socket failure", cause);
        localFailure("local socket failed: " + cause.getMessage());
        ctx.close();
    }

    private void localFailure(String why) {
        if (failed) {
            return;
        }
        failed = true;
        stream.reset(ErrorCode.LOCAL_IO_ERROR, why);
        if (reads != null) {
            reads.error(new java.io.IOException(why));
        }
    }

    // ---- stream events ----

    private void onStreamError(Throwable e) {
        runOnChannel(() -> abort(e));
    }

    private void abort(Throwable e) {
        if (failed) {
            return;
        }
        failed = true; // the session's listener logs why the stream ended
        if (!(e instanceof SessionClosedException) && !(e instanceof StreamResetException)) {
            log.warn("{}: {}", stream, e.toString());
        }
        channel.close();
    }

    private void closeIfDone() {
        if (inputDone && outputDone) {
            channel.close();
        }
    }

    private void runOnChannel(Runnable task) {
        if (channel.eventLoop().inEventLoop()) {
            task.run();
        } else {
            channel.eventLoop().execute(task);
        }
    }

    /** Writes the peer's bytes to the local socket, requesting one buffer at a time while writable. */
    private final class InboundWriter extends BaseSubscriber<ByteBuf> {
        private boolean outstanding;
        private boolean flushScheduled;

        @Override
        protected void hookOnSubscribe(Subscription subscription) {
            runOnChannel(this::pull);
        }

        void pull() {
            if (!outstanding && channel.isWritable() && !outputDone && !isDisposed()) {
                outstanding = true;
                request(1);
            }
        }

        @Override
        protected void hookOnNext(ByteBuf buf) {
            runOnChannel(() -> {
                outstanding = false;
                if (!channel.isActive()) {
                    buf.release();
                    return;
                }
                channel.write(buf, channel.voidPromise());
                scheduleFlush();
                pull();
            });
        }

        private void scheduleFlush() {
            if (!flushScheduled) {
                flushScheduled = true;
                channel.eventLoop().execute(() -> {
                    flushScheduled = false;
                    channel.flush();
                });
            }
        }

        @Override
        protected void hookOnComplete() {
            runOnChannel(() -> channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> {
                outputDone = true;
                if (f.isSuccess() && channel instanceof DuplexChannel duplex && channel.isActive()) {
                    duplex.shutdownOutput().addListener(s -> closeIfDone());
                } else {
                    closeIfDone();
                }
            }));
        }

        @Override
        protected void hookOnError(Throwable e) {
            onStreamError(e);
        }
    }
}
