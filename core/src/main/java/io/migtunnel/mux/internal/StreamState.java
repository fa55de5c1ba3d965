package io.migtunnel.mux.internal;

import io.migtunnel.mux.MuxStream;
import io.migtunnel.mux.StreamResetException;
import io.migtunnel.protocol.ErrorCode;
import io.migtunnel.protocol.ProtocolException;
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
    private final MuxSession session;
    private final int id;
    private final String name;
    private final boolean locallyOpened;

    // ---- receive direction (peer -> local consumer) ----
    /** DATA payloads received and not yet taken by the subscriber. */
    private final ArrayDeque<ByteBuf> received = new ArrayDeque<>();
    private final ReceiveWindow receiveWindow;
    /** This stream's part of the session buffer; holds the bytes in {@link #received}. */
    private final SessionBudget.Share share;
    private boolean finReceived;
    private boolean inboundCompleted;
    private Subscriber<? super ByteBuf> inboundSubscriber;
    private long inboundDemand;
    private boolean draining;

    // ---- send direction (local producer -> peer) ----
    private final SendWindow sendWindow;
    /** Buffers taken from the producer and not completely sent yet; their bytes are {@link ProducerDemand#held()}. */
    private final ArrayDeque<ByteBuf> pending = new ArrayDeque<>();
    private final ProducerDemand demand = new ProducerDemand();
    private Subscription upstream;
    private boolean upstreamDone;
    private boolean finSent;
    private boolean sendStarted;
    /** Whether data is pending while the send window is used up. */
    private boolean creditBlocked;
    /** {@link System#nanoTime()} when {@link #creditBlocked} became true. */
    private long creditBlockedSince;
    /** Whether this stream sits in the session's queue of streams waiting to write. */
    boolean queuedForWrite;
    private final Sinks.Empty<Void> sendDone = Sinks.empty();

    // ---- lifecycle ----
    private Throwable resetCause;
    private boolean closed;
    private boolean openOkReceived;
    private final Sinks.Empty<Void> opened = Sinks.empty();
    private final Sinks.Empty<Void> closedSink = Sinks.empty();

    StreamState(MuxSession session, int id, String name, boolean locallyOpened, SessionBudget.Share share,
                int receiveWindow, long sendWindow) {
        this.session = session;
        this.id = id;
        this.name = name;
        this.locallyOpened = locallyOpened;
        this.share = share;
        this.receiveWindow = new ReceiveWindow(receiveWindow);
        this.sendWindow = new SendWindow(sendWindow);
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
        if (!receiveWindow.fits(length)) {
            payload.release();
            session.protocolError(ErrorCode.FLOW_CONTROL_ERROR, "stream " + id + " (" + name + ") overran its window: "
                + (receiveWindow.received() + length) + " > limit " + receiveWindow.limit());
            return false;
        }
        receiveWindow.onReceived(length);
        session.listener().onDataReceived(this, length);
        if (resetCause != null) {
            payload.release();
            return true;
        }
        if (length > 0) {
            session.listener().onPayload(this, false, payload);
            received.add(payload);
            bufferedChanged(length);
        } else {
            payload.release();
        }
        finReceived = fin;
        if (fin) {
            share.finish();
        }
        drain();
        compactLastBuffered();
        return true;
    }

    /** The payload just buffered stays for a while: it must not pin a whole read (see {@link PayloadCompaction}). */
    private void compactLastBuffered() {
        ByteBuf last = received.peekLast();
        if (last != null) {
            ByteBuf compacted = PayloadCompaction.compact(last);
            if (compacted != last) {
                received.pollLast();
                received.add(compacted);
            }
        }
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
                bufferedChanged(-length);
                receiveWindow.onConsumed(length);
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
        if (!finReceived && receiveWindow.takeCreditDue()) {
            session.writeCredit(id, receiveWindow.consumed(), receiveWindow.limit());
        }
    }

    /**
     * The one place buffered bytes change: {@code delta} bytes were buffered (+) or taken by the
     * consumer (−); the session's budget and the listener follow.
     */
    private void bufferedChanged(int delta) {
        if (delta > 0) {
            share.buffer(delta);
        } else {
            share.take(-delta);
        }
        session.listener().onBufferedChanged(this, delta);
    }

    /** The one place the send window changes: by {@code delta} bytes; the listener follows. */
    private void sendWindowChanged(long delta) {
        session.listener().onSendWindowChanged(this, delta);
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
                    demand.onDone();
                    reset(ErrorCode.LOCAL_IO_ERROR, "local socket of stream '" + name + "' failed: " + t.getMessage());
                });
            }

            @Override
            public void onComplete() {
                session.runOnLoop(() -> {
                    upstreamDone = true;
                    demand.onDone();
                    session.wantsToWrite(StreamState.this);
                });
            }
        });
    }

    private void onUpstreamData(ByteBuf buf) {
        if (resetCause != null || !buf.isReadable()) {
            demand.onReceived(0);
            buf.release();
            pullIfReady();
            return;
        }
        demand.onReceived(buf.readableBytes());
        pending.add(buf);
        noteIfCreditBlocked();
        session.wantsToWrite(this);
    }

    /** Starts the credit-blocked clock when data waits and the credit is used up; cheap otherwise. */
    private void noteIfCreditBlocked() {
        if (!creditBlocked && sendWindow.available() <= 0 && !pending.isEmpty()) {
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

    /** Requests more from the producer, as {@link ProducerDemand} allows, while the connection is writable. */
    void pullIfReady() {
        if (upstream == null || upstreamDone || resetCause != null || !session.isWritable()) {
            return;
        }
        int n = demand.toRequest(sendWindow.available());
        if (n > 0) {
            upstream.request(n);
        }
    }

    /** Whether {@link #writeSome} would write something now. */
    boolean canWrite() {
        if (resetCause != null || finSent) {
            return false;
        }
        return pending.isEmpty() ? upstreamDone : sendWindow.available() > 0;
    }

    /**
     * Writes at most one frame; called by the session's write loop while the connection is
     * writable. Returns whether the stream could write more right away.
     */
    boolean writeSome(int maxFrame) {
        ByteBuf head = pending.peek();
        if (head != null && sendWindow.available() > 0) {
            int length = (int) Math.min(head.readableBytes(), Math.min(maxFrame, sendWindow.available()));
            ByteBuf chunk;
            if (length == head.readableBytes()) {
                chunk = pending.poll();
            } else {
                chunk = head.readRetainedSlice(length);
            }
            sendWindow.onSent(length);
            demand.onSent(length);
            sendWindowChanged(-length);
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

    /** The peer granted credit; a CREDIT the protocol forbids throws {@code ProtocolException}. */
    void onCredit(long consumed, long limit) {
        long grown = sendWindow.onCredit(id, consumed, limit);
        if (grown > 0) {
            sendWindowChanged(grown);
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
        if (openOkReceived) {
            throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "second OPEN_OK for stream " + id);
        }
        openOkReceived = true;
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
                session.writeReset(this, code, sendWindow.sent(), message);
                terminate(new StreamResetException(code.code(), message, false));
            }
        });
    }

    /** The peer reset this stream after sending {@code finalOffset} bytes on it. */
    void onReset(long code, long finalOffset, String message) {
        if (finalOffset != receiveWindow.received()) {
            throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "RESET on stream " + id + " says " + finalOffset
                + " bytes were sent, " + receiveWindow.received() + " arrived");
        }
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
        share.release();
        while ((buf = pending.poll()) != null) {
            buf.release();
        }
        demand.onSent(demand.held());
        demand.onDone();
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
        if (share.held() > 0) {
            session.listener().onBufferedChanged(this, -share.held());
        }
        if (sendWindow.available() > 0) {
            sendWindowChanged(-sendWindow.available());
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
