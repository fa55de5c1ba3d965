package io.migtunnel.mux.internal;

import io.migtunnel.mux.MuxStream;
import io.migtunnel.mux.SessionConfig;
import io.migtunnel.mux.SessionListener;
import io.migtunnel.protocol.Frame;
import io.migtunnel.protocol.FrameDecoder;
import io.migtunnel.protocol.HelloFrameCodec;
import io.migtunnel.protocol.Limits;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.concurrent.DefaultEventExecutor;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One server-side session on its own event loop, driven frame by frame: the test plays the peer
 * with encoded frames ({@link #feed}) and reads back what the session wrote ({@link #frames}).
 * Streams the peer opens are collected in {@link #accepted}, neither accepted nor consumed.
 */
final class SessionDriver {
    static final ByteBufAllocator ALLOC = ByteBufAllocator.DEFAULT;
    final DefaultEventExecutor loop = new DefaultEventExecutor();
    final RecordingSink sink = new RecordingSink();
    final List<MuxStream> accepted = new ArrayList<>();
    final MuxSession session;

    /** Starts the session and answers its HELLO with {@code peerHello}; the session's HELLO is read and dropped. */
    SessionDriver(SessionConfig config, ByteBuf peerHello) throws Exception {
        session = new MuxSession(false, config, sink, loop, accepted::add, SessionListener.NONE);
        onLoop(() -> {
            session.start();
            return null;
        });
        feed(peerHello);
        frames().forEach(Frame::release);
    }

    /** A HELLO from a peer granting {@code window} per stream and allowing 8 streams. */
    static ByteBuf hello(int window) {
        return HelloFrameCodec.encode(ALLOC, Limits.VERSION, window, 65536, 8);
    }

    <T> T onLoop(Callable<T> task) throws Exception {
        CompletableFuture<T> f = new CompletableFuture<>();
        loop.execute(() -> {
            try {
                f.complete(task.call());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        });
        return f.get(5, TimeUnit.SECONDS);
    }

    /** Feeds encoded frame bytes to the session as the transport would, and releases them. */
    void feed(ByteBuf bytes) throws Exception {
        onLoop(() -> {
            try {
                Frame f;
                while ((f = FrameDecoder.decode(bytes, Limits.MAX_FRAME_PAYLOAD)) != null) {
                    session.onFrame(f);
                }
            } finally {
                bytes.release();
            }
            return null;
        });
    }

    /** What the session has written since the last call; runs after every task the session queued before. */
    List<Frame> frames() throws Exception {
        return onLoop(sink::drain);
    }

    /** {@link #frames()} of one type; all frames are released. */
    List<Frame> framesOf(io.migtunnel.protocol.FrameType type) throws Exception {
        List<Frame> all = frames();
        List<Frame> picked = new ArrayList<>();
        for (Frame f : all) {
            if (f.type() == type) {
                picked.add(f);
            } else {
                f.release();
            }
        }
        return picked;
    }

    /** Closes the session, releases what it wrote and stops the loop. */
    void close() throws Exception {
        onLoop(() -> {
            session.close("test over");
            return null;
        });
        frames().forEach(Frame::release);
        sink.written.release();
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
}
