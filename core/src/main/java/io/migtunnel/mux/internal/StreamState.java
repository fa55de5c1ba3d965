package io.migtunnel.mux.internal;

import io.migtunnel.mux.MuxStream;
import io.migtunnel.mux.StreamPriorities;
import io.migtunnel.mux.StreamResetException;
import io.migtunnel.protocol.ErrorCode;
import io.migtunnel.protocol.ProtocolException;
import io.netty.buffer.ByteBuf;
import io.migtunnel.protocol.ResumeTable;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.List;
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
final class StreamState implements MuxStream, WriteScheduler.Scheduled {
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
    /** When each buffer in {@link #pending} was taken from the producer, in the same order. */
    private final LongQueue arrivals = new LongQueue();
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
    /** Its class in the session's {@link WriteScheduler}: 0 (most urgent) to 7. */
    private final int urgency;
    private final Sinks.Empty<Void> sendDone = Sinks.empty();
    /** What was sent and not yet consumed by the peer, for a resumable session; else null. */
    private final RetainedBytes retained;
    /** The most {@link #retained} may hold: this side's own stream window. */
    private final int retainLimit;

    // ---- lifecycle ----
    private Throwable resetCause;
    private boolean closed;
    private boolean openOkReceived;
    /** Whether this side accepted the peer's stream (its OPEN_OK may have been lost). */
    private boolean openOkSent;
    /** The RESET code, once reset by either side. */
    private long resetCode;
    /** The message of this side's RESET, resent after a resume if the peer never got it. */
    private String resetMessage;
    private final Sinks.Empty<Void> opened = Sinks.empty();
    private final Sinks.Empty<Void> closedSink = Sinks.empty();

    StreamState(MuxSession session, int id, String name, boolean locallyOpened, SessionBudget.Share share,
                int receiveWindow, long sendWindow, boolean retain) {
        this.session = session;
        this.id = id;
        this.name = name;
        this.locallyOpened = locallyOpened;
        this.share = share;
        this.receiveWindow = new ReceiveWindow(receiveWindow);
        this.sendWindow = new SendWindow(sendWindow);
        this.retained = retain ? new RetainedBytes() : null;
        this.retainLimit = receiveWindow;
        this.urgency = session.config().priorities().urgencyOf(name);
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

    /** This side's urgency for the stream's writes (0 most urgent). */
    @Override
    public int urgency() {
        return urgency;
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
                long takenAt = System.nanoTime(); // on the producer's thread: the hop to the loop is queueing too
                session.runOnLoop(() -> onUpstreamData(buf, takenAt));
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

    private void onUpstreamData(ByteBuf buf, long takenAt) {
        if (resetCause != null || !buf.isReadable()) {
            demand.onReceived(0);
            buf.release();
            pullIfReady();
            return;
        }
        demand.onReceived(buf.readableBytes());
        pending.add(buf);
        arrivals.add(takenAt);
        noteIfCreditBlocked();
        session.wantsToWrite(this);
    }

    /**
     * Bytes this stream may send now: the peer's credit, and in a resumable session no more than
     * one local stream window kept for retransmission, whatever window the peer announced (a peer
     * that never reports consumption cannot make this side hold more).
     */
    private long sendable() {
        long credit = sendWindow.available();
        return retained == null ? credit : Math.min(credit, retainLimit - retained.bytes());
    }

    /** Starts the credit-blocked clock when data waits and the credit is used up; cheap otherwise. */
    private void noteIfCreditBlocked() {
        if (!creditBlocked && sendable() <= 0 && !pending.isEmpty()) {
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
     * Requests more from the producer, as {@link ProducerDemand} allows, while the connection is
     * writable. Urgent streams ({@link StreamPriorities#PULLS_WHILE_FULL} and more urgent) pull
     * even while it is not, within their credit, so that their bytes wait queued, ready to go
     * first, instead of unread in their local socket behind bulk bytes read earlier.
     */
    void pullIfReady() {
        if (upstream == null || upstreamDone || resetCause != null
            || (!session.isWritable() && urgency > StreamPriorities.PULLS_WHILE_FULL)) {
            return;
        }
        int n = demand.toRequest(sendable());
        if (n > 0) {
            upstream.request(n);
        }
    }

    /** Whether {@link #writeSome} would write something now. */
    boolean canWrite() {
        if (resetCause != null || finSent) {
            return false;
        }
        return pending.isEmpty() ? upstreamDone : sendable() > 0;
    }

    /**
     * Writes at most one frame; called by the session's write loop while the connection is
     * writable. Returns whether the stream could write more right away.
     */
    boolean writeSome(int maxFrame) {
        ByteBuf head = pending.peek();
        if (head != null && sendable() > 0) {
            int length = (int) Math.min(head.readableBytes(), Math.min(maxFrame, sendable()));
            ByteBuf chunk;
            session.listener().onQueueingDelay(this, System.nanoTime() - arrivals.peek());
            if (length == head.readableBytes()) {
                chunk = pending.poll();
                arrivals.poll();
            } else {
                chunk = head.readRetainedSlice(length);
            }
            sendWindow.onSent(length);
            demand.onSent(length);
            sendWindowChanged(-length);
            boolean fin = pending.isEmpty() && upstreamDone;
            if (retained != null) {
                retained.sent(chunk);
            }
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
        long released = 0;
        if (retained != null) {
            long before = retained.bytes();
            retained.consumedTo(consumed);
            released = before - retained.bytes();
        }
        if (grown > 0 || released > 0) {
            if (grown > 0) {
                sendWindowChanged(grown);
            }
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
            if (resetCause == null && !locallyOpened && !openOkSent) {
                openOkSent = true;
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
                resetMessage = message;
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
        resetCode = cause instanceof StreamResetException r ? r.code() : ErrorCode.CANCELLED.code();
        if (retained != null) {
            retained.release(); // a reset stream is never retransmitted
        }
        reportWindowsReleased();
        ByteBuf buf;
        while ((buf = received.poll()) != null) {
            buf.release();
        }
        share.release();
        while ((buf = pending.poll()) != null) {
            buf.release();
        }
        arrivals.clear();
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

    // =====================================================================================
    // Resumption (PROTOCOL.md section 13.4); on the loop
    // =====================================================================================

    /** This side's row of the resume table. */
    ResumeTable.Entry entry() {
        int state = (locallyOpened ? openOkReceived : openOkSent) ? ResumeTable.OPEN_OK : 0;
        state |= finReceived ? ResumeTable.FIN_RECEIVED : 0;
        state |= finSent ? ResumeTable.FIN_SENT : 0;
        state |= resetCause != null ? ResumeTable.RESET : closed ? ResumeTable.CLOSED : 0;
        return new ResumeTable.Entry(id, state, receiveWindow.received(), resetCause != null ? resetCode : 0);
    }

    /** Why the peer's row for this stream cannot be true, or null when it agrees with this side. */
    String disagreement(ResumeTable.Entry theirs) {
        if (resetCause != null || (theirs.state() & ResumeTable.RESET) != 0) {
            return null; // nothing is retransmitted on a reset stream
        }
        long received = theirs.receivedOffset();
        if (received > sendWindow.sent()) {
            return "stream " + id + ": the peer received " + received + " bytes, " + sendWindow.sent() + " were sent";
        }
        if (retained != null && received < retained.start()) {
            return "stream " + id + ": the peer received " + received + " bytes but had reported "
                + retained.start() + " as consumed";
        }
        if ((theirs.state() & ResumeTable.FIN_RECEIVED) != 0 && !finSent) {
            return "stream " + id + ": the peer received a FIN that was never sent";
        }
        if (locallyOpened && (theirs.state() & ResumeTable.OPEN_OK) == 0 && openOkReceived) {
            return "stream " + id + ": OPEN_OK arrived, the peer says it never sent it";
        }
        if (!locallyOpened && (theirs.state() & ResumeTable.OPEN_OK) != 0 && !openOkSent) {
            return "stream " + id + ": the peer received an OPEN_OK that was never sent";
        }
        return null;
    }

    /** Why this side's stream cannot have had its OPEN lost, or null: it must retransmit from 0. */
    String lostOpenDisagreement() {
        if (resetCause != null) {
            return null;
        }
        if (retained == null || retained.start() != 0 || closed || openOkReceived) {
            return "stream " + id + ": the peer never saw its OPEN, yet it " + (openOkReceived ? "answered it"
                : "consumed or finished it");
        }
        return null;
    }

    /**
     * Makes good what the peer, whose row is {@code theirs}, missed of this stream: OPEN_OK, RESET,
     * and the bytes from what it received, with FIN if it was sent. Returns the bytes retransmitted.
     */
    long resend(ResumeTable.Entry theirs, int maxFrame) {
        if (!locallyOpened && openOkSent && (theirs.state() & ResumeTable.OPEN_OK) == 0) {
            session.writeOpenOk(id);
        }
        boolean peerReset = (theirs.state() & ResumeTable.RESET) != 0;
        if (resetCause != null) {
            if (!peerReset) {
                session.writeReset(this, knownOrInternal(resetCode), theirs.receivedOffset(),
                    resetMessage != null ? resetMessage : "reset during the outage");
            }
            return 0;
        }
        if (peerReset) {
            return 0; // the peer sends its RESET again, and this stream ends when it arrives
        }
        return retransmit(theirs.receivedOffset(), (theirs.state() & ResumeTable.FIN_RECEIVED) != 0, maxFrame);
    }

    private static ErrorCode knownOrInternal(long code) {
        ErrorCode known = ErrorCode.fromCode(code);
        return known != null ? known : ErrorCode.INTERNAL_ERROR;
    }

    /** The peer never saw this stream's OPEN: sends it again, then everything from byte 0. */
    long resendLostOpen(int maxFrame) {
        if (resetCause != null) {
            return 0; // the peer never knew it; nothing to say
        }
        session.writeOpen(id, name);
        return retransmit(0, false, maxFrame);
    }

    private long retransmit(long from, boolean peerHasFin, int maxFrame) {
        if (retained == null) {
            return 0;
        }
        List<ByteBuf> slices = retained.from(from, maxFrame);
        boolean fin = finSent && !peerHasFin;
        long bytes = 0;
        for (int i = 0; i < slices.size(); i++) {
            ByteBuf slice = slices.get(i);
            bytes += slice.readableBytes();
            session.writeRetransmitted(id, fin && i == slices.size() - 1, slice);
        }
        if (fin && slices.isEmpty()) {
            session.writeRetransmitted(id, true, null);
        }
        return bytes;
    }

    /** After a resume: the peer's CREDITs may have been lost, so this side states its window again. */
    void restateCredit() {
        if (resetCause == null && !finReceived) {
            session.writeCredit(id, receiveWindow.consumed(), receiveWindow.limit());
        }
    }

    /** Whether both directions ended with FIN: the peer may forget the stream before this side. */
    boolean bothFinished() {
        return finSent && finReceived;
    }

    /** This side forgets the ended stream: its retained bytes are released. */
    void forget() {
        if (retained != null) {
            retained.release();
        }
    }

    /** Bytes kept for retransmission. */
    long retainedBytes() {
        return retained == null ? 0 : retained.bytes();
    }

    @Override
    public String toString() {
        return "stream " + id + " '" + name + "'";
    }
}
