package io.migtunnel.mux;

import io.migtunnel.protocol.ErrorCode;
import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.core.publisher.Sinks;

/**
 * The state of one stream. NOT thread safe: every field is read and written on the session's
 * event loop; public methods called from elsewhere hop onto it.
 */
final class StreamState implements MuxStream {
    /** Buffers requested from a local producer at a time. */
    static final int PREFETCH_BUFFERS = 8;
    /** Bytes taken from a local producer and held while waiting for credit or the connection. */
    static final long PREFETCH_BYTES = 1 << 20;

    private final Session session;
    private final int id;
    private final String name;
    private final boolean locallyOpened;

    // ---- receive direction (peer -> local consumer) ----
    /** DATA payloads received and not yet taken by the subscriber. */
    private final ArrayDeque<ByteBuf> received = new ArrayDeque<>();
    /** Bytes in {@link #received}. */
    private long buffered;
    /**
     * This stream's share of the session's buffer budget: one window while the peer may still
     * send, then only what is still buffered (see {@link Session#reservedBytes()}).
     */
    private long reservation;
    /** Offset after the last byte received. */
    private long receivedOffset;
    /** Offset after the last byte the local consumer has taken; what CREDIT reports. */
    private long consumedOffset;
    /** The consumed offset carried by the last CREDIT sent. */
    private long creditedConsumed;
    /** The peer may send up to this offset. */
    private long receiveLimit;
    private boolean finReceived;
    private boolean inboundCompleted;
    private Subscriber<? super ByteBuf> inboundSubscriber;
    private long inboundDemand;
    private boolean draining;

    // ---- send direction (local producer -> peer) ----
    /** Offset after the last byte sent. */
    private long sentOffset;
    /** This side may send up to this offset (granted by the peer). */
    private long sendLimit;
    /** Buffers taken from the producer and not completely sent yet. */
    private final ArrayDeque<ByteBuf> pending = new ArrayDeque<>();
    /** Bytes in {@link #pending}. */
    private long pendingBytes;
    private Subscription upstream;
    /** Buffers requested from the producer and not received yet. */
    private int outstanding;
    private boolean upstreamDone;
    private boolean finSent;
    private boolean sendStarted;
    /** Whether data is pending while {@code sentOffset} has reached {@code sendLimit}. */
    private boolean creditBlocked;
    /** {@link System#nanoTime()} when {@link #creditBlocked} became true. */
    private long creditBlockedSince;
    /** Whether this stream sits in the session's queue of streams waiting to write. */
    boolean queuedForWrite;
    private final Sinks.Empty<Void> sendDone = Sinks.empty();

    // ---- lifecycle ----
    private Throwable resetCause;
    private boolean closed;
    private final Sinks.Empty<Void> opened = Sinks.empty();
    private final Sinks.Empty<Void> closedSink = Sinks.empty();

    StreamState(Session session, int id, String name, boolean locallyOpened, long receiveWindow, long sendWindow) {
        this.session = session;
        this.id = id;
        this.name = name;
        this.locallyOpened = locallyOpened;
        this.receiveLimit = receiveWindow;
        this.sendLimit = sendWindow;
    }

    @Override
    public int id() {
        return id;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public boolean isLocallyOpened() {
        return locallyOpened;
    }

    long buffered() {
        return buffered;
    }

    /** The session reserved {@code bytes} of its buffer budget for this stream. */
    void reserve(long bytes) {
        reservation += bytes;
    }

    private void unreserve(long bytes) {
        reservation -= bytes;
        session.unreserve(bytes);
    }

    boolean isClosed() {
        return closed;
    }

    // =====================================================================================
    // Receive direction
    // =====================================================================================

    /** A DATA frame for this stream; takes ownership of {@code payload}. Returns false on overrun. */
    boolean onData(ByteBuf payload, boolean fin) {
        int length = payload.readableBytes();
        if (finReceived) {
            payload.release();
            session.protocolError(ErrorCode.PROTOCOL_ERROR, "DATA after FIN on stream " + id);
            return false;
        }
        if (!session.admitsData(this, length)) {
            payload.release();
            return false;
        }
        if (receivedOffset + length > receiveLimit) {
            payload.release();
            session.protocolError(ErrorCode.FLOW_CONTROL_ERROR, "stream " + id + " (" + name + ") overran its window: "
                + (receivedOffset + length) + " > limit " + receiveLimit);
            return false;
        }
        receivedOffset += length;
        session.listener().onDataReceived(this, length);
        if (resetCause != null) {
            payload.release();
            return true;
        }
        if (length > 0) {
            session.listener().onPayload(this, false, payload);
            received.add(payload);
            buffered += length;
            session.listener().onBufferedChanged(this, length);
            session.addBuffered(length);
        } else {
            payload.release();
        }
        finReceived = fin;
        if (fin) {
            unreserve(reservation - buffered); // the peer sends no more: keep only what is buffered
        }
        drain();
        return true;
    }

    private void drain() {
        if (draining || inboundSubscriber == null || resetCause != null) {
            return;
        }
        draining = true;
        try {
            while (inboundDemand > 0 && !received.isEmpty()) {
                ByteBuf buf = received.poll();
                int length = buf.readableBytes();
                buffered -= length;
                session.addBuffered(-length);
                if (finReceived) {
                    unreserve(length);
                }
                consumedOffset += length;
                session.listener().onBufferedChanged(this, -length);
                if (inboundDemand != Long.MAX_VALUE) {
                    inboundDemand--;
                }
                inboundSubscriber.onNext(buf);
                if (resetCause != null) {
                    return;
                }
            }
            maybeReturnCredit();
            if (finReceived && received.isEmpty() && !inboundCompleted) {
                inboundCompleted = true;
                inboundSubscriber.onComplete();
                maybeClose();
            }
        } finally {
            draining = false;
        }
    }

    /** Sends CREDIT once half a window has been consumed since the last one (yamux/Netty ratio). */
    private void maybeReturnCredit() {
        if (finReceived) {
            return;
        }
        int window = session.config().streamWindow();
        if (consumedOffset - creditedConsumed >= window / 2) {
            creditedConsumed = consumedOffset;
            receiveLimit = consumedOffset + window;
            session.writeCredit(id, consumedOffset, receiveLimit);
        }
    }

    @Override
    public Flux<ByteBuf> inbound() {
        return Flux.from(new Publisher<ByteBuf>() {
            @Override
            public void subscribe(Subscriber<? super ByteBuf> s) {
                session.runOnLoop(() -> subscribeInbound(s));
            }
        });
    }

    private void subscribeInbound(Subscriber<? super ByteBuf> s) {
        if (inboundSubscriber != null) {
            Operators.error(s, new IllegalStateException("stream " + id + " inbound allows one subscriber"));
            return;
        }
        inboundSubscriber = s;
        s.onSubscribe(new Subscription() {
            @Override
            public void request(long n) {
                if (n <= 0) {
                    return;
                }
                session.runOnLoop(() -> {
                    inboundDemand = Operators.addCap(inboundDemand, n);
                    drain();
                });
            }

            @Override
            public void cancel() {
                session.runOnLoop(() -> {
                    if (!inboundCompleted) {
                        inboundCompleted = true; // the subscriber left: nothing more goes to it
                        reset(ErrorCode.CANCELLED, "local consumer of stream '" + name + "' cancelled");
                    }
                });
            }
        });
        if (resetCause != null && !inboundCompleted) {
            inboundCompleted = true;
            s.onError(resetCause);
            return;
        }
        drain();
    }

    // =====================================================================================
    // Send direction
    // =====================================================================================

    @Override
    public Mono<Void> send(Publisher<ByteBuf> data) {
        return Mono.defer(() -> {
            session.runOnLoop(() -> startSend(data));
            return sendDone.asMono();
        });
    }

    private void startSend(Publisher<ByteBuf> data) {
        if (sendStarted) {
            Flux.from(data).subscribe(ReferenceCountUtil::release, e -> { }); // drain & release a second producer
            sendDone.tryEmitError(new IllegalStateException("stream " + id + " send() was already called"));
            return;
        }
        sendStarted = true;
        if (resetCause != null) {
            Flux.from(data).subscribe(ReferenceCountUtil::release, e -> { });
            return;
        }
        Flux.from(data).subscribe(new CoreSubscriber<ByteBuf>() {
            @Override
            public void onSubscribe(Subscription s) {
                session.runOnLoop(() -> {
                    if (resetCause != null) {
                        s.cancel();
                        return;
                    }
                    upstream = s;
                    pullIfReady();
                });
            }

            @Override
            public void onNext(ByteBuf buf) {
                session.runOnLoop(() -> onUpstreamData(buf));
            }

            @Override
            public void onError(Throwable t) {
                session.runOnLoop(() -> {
                    upstreamDone = true;
                    reset(ErrorCode.LOCAL_IO_ERROR, "local socket of stream '" + name + "' failed: " + t.getMessage());
                });
            }

            @Override
            public void onComplete() {
                session.runOnLoop(() -> {
                    upstreamDone = true;
                    outstanding = 0;
                    session.wantsToWrite(StreamState.this);
                });
            }
        });
    }

    private void onUpstreamData(ByteBuf buf) {
        if (outstanding > 0) {
            outstanding--;
        }
        if (resetCause != null || !buf.isReadable()) {
            buf.release();
            pullIfReady();
            return;
        }
        pending.add(buf);
        pendingBytes += buf.readableBytes();
        noteIfCreditBlocked();
        session.wantsToWrite(this);
    }

    /** Starts the credit-blocked clock when data waits and the credit is used up; cheap otherwise. */
    private void noteIfCreditBlocked() {
        if (!creditBlocked && sentOffset >= sendLimit && !pending.isEmpty()) {
            creditBlocked = true;
            creditBlockedSince = System.nanoTime();
        }
    }

    /** Stops the credit-blocked clock, if running, and reports the time waited. */
    private void endCreditBlocked() {
        if (creditBlocked) {
            creditBlocked = false;
            session.listener().onCreditBlocked(this, System.nanoTime() - creditBlockedSince);
        }
    }

    /**
     * Requests more from the producer while the peer's credit covers more than what is already
     * taken, keeping at most {@link #PREFETCH_BUFFERS} requested and {@link #PREFETCH_BYTES} held.
     */
    void pullIfReady() {
        if (upstream != null && !upstreamDone && resetCause == null && outstanding < PREFETCH_BUFFERS / 2
            && pendingBytes < PREFETCH_BYTES && sentOffset + pendingBytes < sendLimit && session.isWritable()) {
            int n = PREFETCH_BUFFERS - outstanding;
            outstanding = PREFETCH_BUFFERS;
            upstream.request(n);
        }
    }

    /** Whether {@link #writeSome} would write something now. */
    boolean canWrite() {
        if (resetCause != null || finSent) {
            return false;
        }
        return pending.isEmpty() ? upstreamDone : sentOffset < sendLimit;
    }

    /**
     * Writes at most one frame; called by the session's write loop while the connection is
     * writable. Returns whether the stream could write more right away.
     */
    boolean writeSome(int maxFrame) {
        ByteBuf head = pending.peek();
        if (head != null && sentOffset < sendLimit) {
            int length = (int) Math.min(head.readableBytes(), Math.min(maxFrame, sendLimit - sentOffset));
            ByteBuf chunk;
            if (length == head.readableBytes()) {
                chunk = pending.poll();
            } else {
                chunk = head.readRetainedSlice(length);
            }
            sentOffset += length;
            pendingBytes -= length;
            session.listener().onSendWindowChanged(this, -length);
            boolean fin = pending.isEmpty() && upstreamDone;
            session.writeData(this, fin, chunk);
            if (fin) {
                onFinSent();
                return false;
            }
            noteIfCreditBlocked();
            pullIfReady();
        } else if (head == null && upstreamDone && !finSent) {
            session.writeData(this, true, null);
            onFinSent();
            return false;
        }
        return canWrite();
    }

    private void onFinSent() {
        finSent = true;
        sendDone.tryEmitEmpty();
        maybeClose();
    }

    /** The peer granted credit. */
    void onCredit(long consumed, long limit) {
        if (consumed > limit || consumed > sentOffset) {
            session.protocolError(ErrorCode.PROTOCOL_ERROR, "CREDIT on stream " + id + " reports consumed offset "
                + consumed + " beyond limit " + limit + " or sent offset " + sentOffset);
            return;
        }
        if (limit > sendLimit) {
            session.listener().onSendWindowChanged(this, limit - sendLimit);
            sendLimit = limit;
            endCreditBlocked();
            if (!pending.isEmpty()) {
                session.wantsToWrite(this);
            }
            pullIfReady();
        }
    }

    // =====================================================================================
    // Lifecycle
    // =====================================================================================

    @Override
    public void accept() {
        session.runOnLoop(() -> {
            if (resetCause == null && !locallyOpened) {
                session.writeOpenOk(id);
            }
        });
    }

    void onOpenOk() {
        opened.tryEmitEmpty();
    }

    @Override
    public Mono<Void> onOpened() {
        return opened.asMono();
    }

    @Override
    public Mono<Void> onClose() {
        return closedSink.asMono();
    }

    @Override
    public void reset(ErrorCode code, String message) {
        session.runOnLoop(() -> {
            if (resetCause == null && !closed) {
                session.writeReset(this, code, sentOffset, message);
                terminate(new StreamResetException(code.code(), message, false));
            }
        });
    }

    /** The peer reset this stream. */
    void onReset(long code, String message) {
        if (resetCause == null && !closed) {
            terminate(new StreamResetException(code, message, true));
        }
    }

    /** Ends the stream abruptly: releases buffers, fails subscribers, removes it from the session. */
    void terminate(Throwable cause) {
        if (resetCause != null || closed) {
            return;
        }
        resetCause = cause;
        reportWindowsReleased();
        ByteBuf buf;
        while ((buf = received.poll()) != null) {
            buf.release();
        }
        session.addBuffered(-buffered);
        buffered = 0;
        unreserve(reservation);
        while ((buf = pending.poll()) != null) {
            buf.release();
        }
        pendingBytes = 0;
        endCreditBlocked();
        if (upstream != null) {
            upstream.cancel();
        }
        if (inboundSubscriber != null && !inboundCompleted) {
            inboundCompleted = true;
            inboundSubscriber.onError(cause);
        }
        opened.tryEmitError(cause);
        sendDone.tryEmitError(cause);
        closed = true;
        session.onStreamClosed(this, cause);
        closedSink.tryEmitError(cause);
    }

    /** Reports the buffered bytes and send window the stream gives up as it ends. */
    private void reportWindowsReleased() {
        if (buffered > 0) {
            session.listener().onBufferedChanged(this, -buffered);
        }
        if (sendLimit > sentOffset) {
            session.listener().onSendWindowChanged(this, sentOffset - sendLimit);
        }
    }

    private void maybeClose() {
        if (!closed && finSent && inboundCompleted && resetCause == null) {
            reportWindowsReleased();
            closed = true;
            opened.tryEmitEmpty();
            session.onStreamClosed(this, null);
            closedSink.tryEmitEmpty();
        }
    }

    @Override
    public String toString() {
        return "stream " + id + " '" + name + "'";
    }
}
