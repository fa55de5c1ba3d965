package io.migtunnel.mux.internal;

import io.migtunnel.mux.SessionConfig;
import io.migtunnel.protocol.CreditFrameCodec;
import io.migtunnel.protocol.DataFrameCodec;
import io.migtunnel.protocol.ErrorCode;
import io.migtunnel.protocol.GoAwayFrameCodec;
import io.migtunnel.protocol.HelloFrameCodec;
import io.migtunnel.protocol.Limits;
import io.migtunnel.protocol.OpenFrameCodec;
import io.migtunnel.protocol.OpenOkFrameCodec;
import io.migtunnel.protocol.PingFrameCodec;
import io.migtunnel.protocol.ResetFrameCodec;
import io.migtunnel.protocol.ResumeFrameCodec;
import io.migtunnel.protocol.ResumeOkFrameCodec;
import io.migtunnel.protocol.ResumeTable;
import io.migtunnel.protocol.SessionFrameCodec;
import io.netty.buffer.ByteBuf;

/**
 * Encodes every frame a session writes, and bounds the replies it queues on the peer's behalf
 * (PROTOCOL.md section 8, "Control frames queued for the peer"): a PONG for each PING and a RESET
 * for each stream the peer opened. Such a reply written while the connection is not writable
 * counts against {@link SessionConfig#maxQueuedControlFrames()}; the count starts again whenever
 * a reply finds the connection writable. A reply beyond the limit is not written: the writer
 * reports it to its {@link LimitBreach} (the session then sends GOAWAY and closes). As Netty's
 * {@code Http2ControlFrameLimitEncoder}, with writability standing in for write completion.
 *
 * <p>NOT thread safe: used only on the session's event loop. After {@link #stop()} every write
 * releases its bytes instead.
 */
final class FrameWriter {
    /** Told when a reply would exceed the control frame limit; the reply has not been written. */
    @FunctionalInterface
    interface LimitBreach {
        void onControlFrameLimit(String message);
    }

    /** The connection; written only through this class. */
    private final FrameSink sink;
    /** {@link SessionConfig#maxQueuedControlFrames()}. */
    private final int maxQueuedReplies;
    private final LimitBreach breach;
    /** Replies written while the connection was not writable, since a reply last found it writable. */
    private int queuedReplies;
    /** Whether the session has closed: nothing more reaches the sink. */
    private boolean closed;

    FrameWriter(FrameSink sink, int maxQueuedReplies, LimitBreach breach) {
        this.sink = sink;
        this.maxQueuedReplies = maxQueuedReplies;
        this.breach = breach;
    }

    /** Replies currently counted against the limit (for tests). */
    int queuedReplies() {
        return queuedReplies;
    }

    void hello(SessionConfig config, int flags) {
        write(HelloFrameCodec.encode(sink.alloc(), Limits.VERSION, flags, config.streamWindow(),
            config.maxFramePayload(), config.maxConcurrentStreams()));
    }

    void session(byte[] nonce, SessionSecrets secrets) {
        write(SessionFrameCodec.encode(sink.alloc(), nonce, secrets.token(), secrets.secret()));
    }

    void resume(byte[] token, byte[] clientNonce, byte[] proof, ResumeTable table) {
        write(ResumeFrameCodec.encode(sink.alloc(), token, clientNonce, proof, table));
    }

    void resumeOk(byte[] proof, ResumeTable table) {
        write(ResumeOkFrameCodec.encode(sink.alloc(), proof, table));
    }

    void open(int id, String name) {
        write(OpenFrameCodec.encode(sink.alloc(), id, name));
    }

    void openOk(int id) {
        write(OpenOkFrameCodec.encode(sink.alloc(), id));
    }

    /** One DATA frame: the header, then {@code payload} (null for a bare FIN), whose ownership passes on. */
    void data(int id, boolean fin, ByteBuf payload) {
        int length = payload == null ? 0 : payload.readableBytes();
        write(DataFrameCodec.encodeHeader(sink.alloc(), id, fin, length));
        if (payload != null) {
            write(payload);
        }
    }

    void credit(int id, long consumed, long limit) {
        write(CreditFrameCodec.encode(sink.alloc(), id, consumed, limit));
    }

    /**
     * RESET; {@code peerOpened} streams count as replies to the peer (their OPEN asked for it).
     * Returns false when the reply was over the limit and not written.
     */
    boolean reset(int id, ErrorCode code, long finalOffset, String message, boolean peerOpened) {
        if (peerOpened && !admitReply("RESET")) {
            return false;
        }
        write(ResetFrameCodec.encode(sink.alloc(), id, code, finalOffset, message));
        return true;
    }

    void ping(long opaque) {
        write(PingFrameCodec.encodePing(sink.alloc(), opaque));
    }

    /** The PONG answering a PING; returns false when it was over the limit and not written. */
    boolean pong(long opaque) {
        if (!admitReply("PONG")) {
            return false;
        }
        write(PingFrameCodec.encodePong(sink.alloc(), opaque));
        return true;
    }

    void goAway(ErrorCode code, int lastStreamId, String message) {
        write(GoAwayFrameCodec.encode(sink.alloc(), code, lastStreamId, message));
    }

    void flush() {
        if (!closed) {
            sink.flush();
        }
    }

    boolean isWritable() {
        return sink.isWritable();
    }

    /** The session has closed: later writes release their bytes instead of reaching the connection. */
    void stop() {
        closed = true;
    }

    /** Flushes what was written, then closes the connection. */
    void closeConnection() {
        sink.close();
    }

    private boolean admitReply(String what) {
        if (closed) {
            return true; // released by write(); no limit to enforce on a closed connection
        }
        if (sink.isWritable()) {
            queuedReplies = 0;
        } else if (++queuedReplies > maxQueuedReplies) {
            breach.onControlFrameLimit("control frame limit " + maxQueuedReplies + " reached: the peer asked for "
                + "more replies than it reads (" + what + " " + queuedReplies + " queued while the connection "
                + "was not writable; maxQueuedControlFrames)");
            return false;
        }
        return true;
    }

    private void write(ByteBuf bytes) {
        if (closed) {
            bytes.release();
            return;
        }
        sink.write(bytes);
    }
}
