package io.migtunnel.mux.internal;

import io.migtunnel.protocol.Frame;
import io.migtunnel.protocol.ProtocolException;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * One tunnel connection of a session: its sink, the writer that encodes onto it, and the way its
 * frames reach the session. A session runs on one link at a time; a resumed session moves to a
 * new one (PROTOCOL.md section 13). The transport feeds a link as a {@link FrameReceiver}, on
 * the connection's event loop; the link hands every event to its session's loop, in order.
 */
public final class Link implements FrameReceiver {
    private MuxSession session;
    private final FrameSink sink;
    private final FrameWriter writer;
    private final Sinks.Empty<Void> resumed = Sinks.empty();

    Link(MuxSession session, FrameSink sink, int maxQueuedReplies) {
        this.session = session;
        this.sink = sink;
        this.writer = new FrameWriter(sink, maxQueuedReplies, message -> this.session.onReplyLimit(this, message));
    }

    FrameSink sink() {
        return sink;
    }

    FrameWriter writer() {
        return writer;
    }

    /**
     * Hands the connection to {@code other}, which resumes on it; called on the connection's loop
     * while it delivers a frame, so every later event goes to {@code other}.
     */
    void moveTo(MuxSession other) {
        this.session = other;
    }

    /**
     * For a resume attempt: completes when the session runs on this connection; fails when the
     * attempt failed (the session then stays disconnected, or has ended if it was refused).
     */
    public Mono<Void> resumed() {
        return resumed.asMono();
    }

    void resumeSucceeded() {
        resumed.tryEmitEmpty();
    }

    void resumeFailed(Throwable cause) {
        resumed.tryEmitError(cause);
    }

    /** Stops writing to this connection and closes it, without a GOAWAY. */
    void drop() {
        writer.stop();
        sink.close();
    }

    @Override
    public void start() {
        MuxSession s = session;
        s.runOnLoop(() -> s.onLinkStart(this));
    }

    @Override
    public void onFrame(Frame frame) {
        MuxSession s = session;
        if (s.loop().inEventLoop()) {
            s.onLinkFrame(this, frame);
        } else {
            s.loop().execute(() -> s.onLinkFrame(this, frame));
        }
    }

    @Override
    public void onDecodeError(ProtocolException e) {
        MuxSession s = session;
        s.runOnLoop(() -> s.onLinkDecodeError(this, e));
    }

    @Override
    public void onWritabilityChanged() {
        MuxSession s = session;
        s.runOnLoop(() -> s.onLinkWritabilityChanged(this));
    }

    @Override
    public void onConnectionClosed(Throwable cause) {
        MuxSession s = session;
        s.runOnLoop(() -> s.onLinkClosed(this, cause));
    }
}
