package io.migtunnel.mux.internal;

import io.migtunnel.mux.MuxStream;
import io.migtunnel.mux.Session;
import io.migtunnel.mux.SessionClosedException;
import io.migtunnel.mux.SessionConfig;
import io.migtunnel.mux.SessionListener;
import io.migtunnel.mux.StreamAcceptor;
import io.migtunnel.protocol.CreditFrameCodec;
import io.migtunnel.protocol.ErrorCode;
import io.migtunnel.protocol.Frame;
import io.migtunnel.protocol.FrameType;
import io.migtunnel.protocol.GoAwayFrameCodec;
import io.migtunnel.protocol.HelloFrameCodec;
import io.migtunnel.protocol.OpenFrameCodec;
import io.migtunnel.protocol.PingFrameCodec;
import io.migtunnel.protocol.ProtocolException;
import io.migtunnel.protocol.ResetFrameCodec;
import io.migtunnel.protocol.StreamNames;
import io.netty.buffer.ByteBuf;
import io.netty.util.collection.IntObjectHashMap;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import io.migtunnel.protocol.ResumeTable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * The {@link Session} of one tunnel connection, and the {@link FrameReceiver} its transport feeds: opens and accepts streams, moves DATA within
 * per-stream credit, answers PING, enforces the protocol and tears everything down on failure.
 *
 * <p>NOT thread safe by design: all state is confined to one event loop ({@link #loop()}). The
 * transport calls the {@code on…} methods from that loop; public API methods may be called from
 * anywhere and hop onto it. The session is the connection's only writer, and writes DATA only
 * while the connection is writable, round-robin across streams, one frame at a time.
 */
public final class MuxSession implements Session, FrameReceiver {
    /**
     * The largest DATA frame of a stream while a more urgent one is open: bytes of the urgent
     * stream that arrive meanwhile wait behind at most this much of the frame being written.
     */
    static final int SHARED_FRAME = Integer.getInteger("migtunnel.sharedFrame", 64 * 1024);
    private final boolean client;
    private final SessionConfig config;
    /** The session's first connection; the transport feeds it through this session's {@code on…} methods. */
    private final Link first;
    /** The connection the session runs on; null while disconnected. */
    private Link link;
    /** Encodes every frame written: {@link #link}'s writer, or one that discards while disconnected. */
    private FrameWriter writer;
    /** Resumption state; null when this side does not keep sessions ({@link SessionConfig#resumable()}). */
    private final Resumption resumption;
    private final EventExecutor loop;
    private final StreamAcceptor acceptor;
    private final SessionListener listener;

    private final IntObjectHashMap<StreamState> streams = new IntObjectHashMap<>();
    /** Streams with something to write: the most urgent first, round-robin within an urgency. */
    private final WriteScheduler<StreamState> writeQueue = new WriteScheduler<>();
    /** DATA written and not yet read by the peer; caps the other streams while one of urgency 0 is active. */
    private final PipeDepth pipe;
    /** Streams the last write loop held back because the pipe was full; served again when a probe returns. */
    private final java.util.ArrayList<StreamState> heldByPipe = new java.util.ArrayList<>();
    private HelloFrameCodec.PeerLimits peer;
    private final StreamIds ids;
    private int peerOpenedActive;
    /** The session buffer: bytes held and windows reserved, over all streams. */
    private final SessionBudget budget;
    private boolean writable = true;
    private boolean flushScheduled;
    private boolean writing;
    private boolean goingAway;
    private boolean closed;
    /** Whether HELLO (and SESSION or RESUME, when they are due) have been received. */
    private boolean handshakeDone;
    /** Whether the peer's HELLO set RESUMABLE. */
    private boolean peerResumable;
    /** Server: this connection's HELLO asked to resume another session; this one never becomes a session. */
    private boolean carriesResume;
    private long lastReceivedNanos;
    private java.util.function.LongSupplier clock = System::nanoTime;
    private long pingsSent;
    private ScheduledFuture<?> keepalive;
    private ScheduledFuture<?> handshakeTimer;
    /** Closes the session when a shutdown's drain has passed; cancelled when it closes sooner. */
    private ScheduledFuture<?> drainTimer;
    private final Sinks.Empty<Void> ready = Sinks.empty();
    private final Sinks.Empty<Void> closedSink = Sinks.empty();

    /**
     * @param client   whether this side connected (opens odd stream ids) rather than listened
     * @param sink     the connection; written only from {@code loop}
     * @param loop     the event loop that owns this session
     * @param acceptor decides on streams the peer opens
     * @param listener observes the session (logging, metrics); {@link SessionListener#NONE} for none
     */
    public MuxSession(boolean client, SessionConfig config, FrameSink sink, EventExecutor loop, StreamAcceptor acceptor,
                   SessionListener listener) {
        this.client = client;
        this.config = config;
        this.pipe = new PipeDepth(config.priorities().urgentPipeLimit());
        this.loop = loop;
        this.acceptor = acceptor;
        this.listener = listener;
        this.ids = new StreamIds(client);
        this.budget = new SessionBudget(config.maxSessionBuffered(), config.streamWindow());
        this.first = new Link(this, sink, config.maxQueuedControlFrames());
        this.link = first;
        this.writer = first.writer();
        this.resumption = config.resumable() ? new Resumption(this, config.resumeGrace()) : null;
    }

    /**
     * Server: sessions that end up resumable are entered in {@code directory}, where a connection
     * asking to resume finds them, and {@code peerIdentity} (the TLS peer's subject and key, or
     * null in plaintext) must match on the resuming connection. Called before {@link #start()}.
     */
    public void serveResumes(SessionDirectory directory, Object peerIdentity) {
        if (resumption != null) {
            resumption.serve(directory, peerIdentity);
        }
    }

    /**
     * The clock of keepalive silence: {@link System#nanoTime()}, or in tests the clock of a loop
     * whose time they move by hand, so that a timeout follows the loop's scheduled tasks.
     */
    void useClock(java.util.function.LongSupplier nanos) {
        this.clock = nanos;
    }

    @Override
    public EventExecutor loop() {
        return loop;
    }

    @Override
    public SessionConfig config() {
        return config;
    }

    @Override
    public Mono<Void> ready() {
        return ready.asMono();
    }

    @Override
    public Mono<Void> onClose() {
        return closedSink.asMono();
    }

    @Override
    public int activeStreams() {
        return streams.size();
    }

    @Override
    public long bufferedBytes() {
        return budget.buffered();
    }

    @Override
    public long outboundBufferedBytes() {
        Link l = link;
        return l == null ? 0 : l.sink().outboundBufferedBytes();
    }

    @Override
    public boolean isConnected() {
        return link != null && !closed;
    }

    /**
     * The token that names this resumable session now (null when it is not resumable); it changes
     * at every resume. For diagnostics and tests: worthless without the session's secret and, with
     * TLS, the peer's certificate. Read it on the loop.
     */
    public byte[] resumeToken() {
        return resumable() ? resumption.token() : null;
    }

    /** Each lost connection of a resumable session, with its cause: the session waits for a resume. */
    public Flux<String> disconnects() {
        return resumption == null ? Flux.empty() : resumption.disconnects();
    }

    /**
     * Client: resumes this disconnected session over a new connection, whose frames go to the
     * returned link ({@link Link#start()} begins the exchange; {@link Link#resumed()} tells how it
     * ended).
     */
    public Link resumeOver(FrameSink sink) {
        return new Link(this, sink, config.maxQueuedControlFrames());
    }

    /** Receive budget the open streams have reserved (one window each until FIN). Read it on the loop. */
    long reservedBytes() {
        return budget.reserved();
    }

    // =====================================================================================
    // Transport callbacks (on the loop)
    // =====================================================================================

    @Override
    public void start() {
        first.start();
    }

    @Override
    public void onFrame(Frame frame) {
        first.onFrame(frame);
    }

    @Override
    public void onDecodeError(ProtocolException e) {
        first.onDecodeError(e);
    }

    @Override
    public void onWritabilityChanged() {
        first.onWritabilityChanged();
    }

    @Override
    public void onConnectionClosed(Throwable cause) {
        first.onConnectionClosed(cause);
    }

    // =====================================================================================
    // Link callbacks (on the loop)
    // =====================================================================================

    void onLinkStart(Link from) {
        if (from != first) {
            resumption.startResume(from);
            return;
        }
        lastReceivedNanos = clock.getAsLong();
        writer.hello(config, keepsSessions() ? HelloFrameCodec.RESUMABLE : 0);
        if (keepsSessions() && !client) {
            resumption.sendSession(writer);
        }
        flush();
        handshakeTimer = loop.schedule(() -> {
            if (!handshakeDone) {
                fail(ErrorCode.PROTOCOL_ERROR, (peer == null ? "no HELLO" : "no SESSION or RESUME")
                    + " from the peer within " + config.handshakeTimeout(), true);
            }
        }, config.handshakeTimeout().toNanos(), TimeUnit.NANOSECONDS);
    }

    void onLinkFrame(Link from, Frame frame) {
        if (closed || from != link) {
            if (!closed && resumption != null && resumption.isResuming(from)) {
                resumption.onResumeFrame(from, frame);
            } else {
                frame.release(); // a connection the session has left
            }
            return;
        }
        lastReceivedNanos = clock.getAsLong();
        if (resumption != null && !client) {
            resumption.onPeerFrame();
        }
        try {
            if (peer == null && frame.type() != FrameType.HELLO) {
                throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "expected HELLO first, got " + frame.type());
            }
            if (!handshakeDone && peer != null) {
                onHandshakeFrame(frame);
                return;
            }
            switch (frame.type()) {
                case HELLO -> onHello(frame.payload());
                case OPEN -> onOpen(frame.streamId(), OpenFrameCodec.name(frame.payload()));
                case OPEN_OK -> onOpenOk(frame.streamId());
                case DATA -> onData(frame);
                case CREDIT -> onCredit(frame.streamId(), frame.payload());
                case RESET -> onReset(frame.streamId(), frame.payload());
                case PING -> writer.pong(PingFrameCodec.opaque(frame.payload()));
                case PONG -> onPong(PingFrameCodec.opaque(frame.payload()));
                case GOAWAY -> onGoAway(frame.payload());
                case SESSION, RESUME, RESUME_OK -> throw new ProtocolException(ErrorCode.PROTOCOL_ERROR,
                    frame.type() + " after the handshake");
                default -> throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "unhandled " + frame.type());
            }
        } catch (ProtocolException e) {
            protocolError(e.code(), e.getMessage());
        } finally {
            frame.release();
        }
        scheduleFlush();
    }

    void onLinkDecodeError(Link from, ProtocolException e) {
        if (from == link) {
            protocolError(e.code(), e.getMessage());
        } else if (resumption != null) {
            resumption.abandon(from, e.code(), e.getMessage());
        }
    }

    void onLinkWritabilityChanged(Link from) {
        if (from == link && !closed) {
            writable = from.sink().isWritable();
            if (writable) {
                resumeWriting();
            }
        }
    }

    void onLinkClosed(Link from, Throwable cause) {
        if (closed) {
            return;
        }
        String why = cause == null ? "connection closed by peer" : "connection failed: " + cause.getMessage();
        if (from != link) {
            if (resumption != null) {
                resumption.abandon(from, null, why);
            }
            return;
        }
        if (resumable()) {
            disconnect(why);
        } else {
            terminateAll(new SessionClosedException(ErrorCode.INTERNAL_ERROR, why));
        }
    }

    /** The reply limit of {@code from}'s writer was reached. */
    void onReplyLimit(Link from, String message) {
        if (from == link) {
            fail(ErrorCode.EXCESSIVE_LOAD, message, true);
        }
    }

    /** The connection became writable, or the session moved to a new one: DATA flows again. */
    private void resumeWriting() {
        // Pull first, without writing, so that the scheduler chooses among everything pending.
        boolean wasWriting = writing;
        writing = true;
        try {
            for (StreamState s : streams.values()) {
                s.pullIfReady();
            }
        } finally {
            writing = wasWriting;
        }
        writePending();
    }

    private void onHello(ByteBuf payload) {
        if (peer != null) {
            throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "second HELLO");
        }
        peer = HelloFrameCodec.decode(payload);
        int flags = HelloFrameCodec.flags(payload);
        if (client && (flags & HelloFrameCodec.RESUME) != 0) {
            throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "HELLO flag RESUME from the server");
        }
        peerResumable = (flags & HelloFrameCodec.RESUMABLE) != 0;
        if (!client && (flags & HelloFrameCodec.RESUME) != 0) {
            carriesResume = true;
            if (!keepsSessions()) {
                refuseResume(first, "no such session: this side does not keep sessions (resume grace 0)");
            }
            return; // RESUME comes next
        }
        if (client && peerResumable) {
            return; // a resumable server's SESSION comes next
        }
        completeHandshake();
    }

    /** Whether this side offers resumption: it is configured to, and a server has a directory. */
    private boolean keepsSessions() {
        return resumption != null && (client || resumption.serves());
    }

    /** A frame after HELLO and before the handshake is complete: SESSION for a client, RESUME for a server. */
    private void onHandshakeFrame(Frame frame) {
        if (client && frame.type() == FrameType.SESSION) {
            if (resumption != null) {
                resumption.onFirstSession(frame.payload());
            }
            completeHandshake();
        } else if (!client && frame.type() == FrameType.RESUME) {
            handshakeDone = true;
            handshakeTimer.cancel(false);
            resumption.onResume(first, frame.payload(), peer);
        } else {
            throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "expected " + (client ? "SESSION" : "RESUME")
                + " after HELLO, got " + frame.type());
        }
    }

    private void completeHandshake() {
        handshakeDone = true;
        handshakeTimer.cancel(false);
        if (resumable()) {
            resumption.onEstablished(client);
        }
        startKeepalive();
        listener.onReady(this);
        ready.tryEmitEmpty();
    }

    private void startKeepalive() {
        long interval = config.keepaliveInterval().toNanos();
        keepalive = loop.scheduleAtFixedRate(this::keepaliveTick, interval, interval, TimeUnit.NANOSECONDS);
    }

    /** Whether both sides keep this session for resumption. */
    boolean resumable() {
        return keepsSessions() && peerResumable && !carriesResume;
    }

    private void onOpen(int id, String name) {
        ids.peerOpens(id);
        String refusal = goingAway ? "session is going away"
            : peerOpenedActive >= config.maxConcurrentStreams() ? "too many streams: limit " + config.maxConcurrentStreams()
            : budget.hasRoom() ? null : budget.noRoomMessage();
        SessionBudget.Share share = refusal == null ? budget.reserve() : budget.unreserved();
        StreamState stream = newStream(id, name, false, share);
        if (refusal != null) {
            stream.reset(ErrorCode.REFUSED, refusal);
            return;
        }
        listener.onStreamOpened(stream);
        acceptor.onOpen(stream);
    }

    private StreamState newStream(int id, String name, boolean local, SessionBudget.Share share) {
        StreamState s = new StreamState(this, id, name, local, share, config.streamWindow(), peer.streamWindow(),
            resumable());
        streams.put(id, s);
        writeQueue.opened(s.urgency());
        listener.onSendWindowChanged(s, peer.streamWindow());
        if (!local) {
            peerOpenedActive++;
        }
        return s;
    }

    private void onOpenOk(int id) {
        if (!ids.isLocal(id)) {
            throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, "OPEN_OK for stream " + id + ", which the peer opened");
        }
        StreamState s = streamFor(id, FrameType.OPEN_OK);
        if (s != null) {
            s.onOpenOk();
        }
    }

    private void onData(Frame frame) {
        StreamState s = streamFor(frame.streamId(), FrameType.DATA);
        if (s != null) {
            s.onData(frame.takePayload(), frame.fin());
        }
    }

    private void onCredit(int id, ByteBuf payload) {
        StreamState s = streamFor(id, FrameType.CREDIT);
        if (s != null) {
            s.onCredit(CreditFrameCodec.consumed(payload), CreditFrameCodec.limit(payload));
        }
    }

    private void onReset(int id, ByteBuf payload) {
        StreamState s = streamFor(id, FrameType.RESET);
        if (s != null) {
            s.onReset(ResetFrameCodec.code(payload), ResetFrameCodec.finalOffset(payload), ResetFrameCodec.message(payload));
        }
    }

    /**
     * The open stream for a frame, or null when the stream is closed (frames in flight are
     * legal and dropped). A frame for an id never opened is a protocol error.
     */
    private StreamState streamFor(int id, FrameType type) {
        StreamState s = streams.get(id);
        if (s != null) {
            return s;
        }
        if (ids.isIdle(id)) {
            throw new ProtocolException(ErrorCode.PROTOCOL_ERROR, type + " for stream " + id + " that was never opened");
        }
        return null;
    }

    private void onPong(long opaque) {
        if (pipe.onPong(opaque)) {
            if (!pipe.full() && writable) {
                writePending();
            }
            return;
        }
        if (resumption != null && resumption.onPong(opaque)) {
            return;
        }
        long rtt = System.nanoTime() - opaque;
        if (rtt >= 0 && rtt < Duration.ofMinutes(10).toNanos()) {
            listener.onRoundTrip(Duration.ofNanos(rtt));
        }
    }

    private void onGoAway(ByteBuf payload) {
        long code = GoAwayFrameCodec.code(payload);
        String message = GoAwayFrameCodec.message(payload);
        listener.onGoAwayReceived(code, message);
        if (code == ErrorCode.NO_ERROR.code()) {
            refuseUnprocessed(GoAwayFrameCodec.lastStreamId(payload));
            goingAway = true;
            closeIfDrained();
        } else {
            ErrorCode known = ErrorCode.fromCode(code);
            terminateAll(new SessionClosedException(known != null ? known : ErrorCode.INTERNAL_ERROR,
                "peer sent GOAWAY " + ErrorCode.describe(code) + ": " + message));
            writer.closeConnection();
        }
    }

    /**
     * The peer's graceful GOAWAY processed this side's streams up to {@code last}: the ones above
     * it were never seen and fail with REFUSED, so they can be retried elsewhere.
     */
    private void refuseUnprocessed(long last) {
        ids.peerGoesAway(last);
        for (StreamState s : new ArrayList<>(streams.values())) {
            if (s.isLocallyOpened() && s.id() > last) {
                s.terminate(new SessionClosedException(ErrorCode.REFUSED, "peer is going away: stream " + s.id()
                    + " was not processed (last stream id " + last + ")"));
            }
        }
    }

    private void keepaliveTick() {
        if (closed) {
            return;
        }
        long silent = clock.getAsLong() - lastReceivedNanos;
        if (silent > config.keepaliveTimeout().toNanos()) {
            String why = "no frame from the peer for " + Duration.ofNanos(silent).toMillis()
                + " ms (keepalive timeout " + config.keepaliveTimeout() + ")";
            if (resumable()) {
                disconnect(why);
            } else {
                fail(ErrorCode.KEEPALIVE_TIMEOUT, why, true);
            }
            return;
        }
        pingsSent++;
        writer.ping(System.nanoTime());
        flush();
    }

    // =====================================================================================
    // API
    // =====================================================================================

    @Override
    public Mono<MuxStream> open(String name) {
        StreamNames.requireValid(name);
        return ready().then(Mono.<MuxStream>create(sink -> runOnLoop(() -> {
            if (closed || goingAway) {
                sink.error(new SessionClosedException(ErrorCode.REFUSED, "session is " + (closed ? "closed" : "going away")));
                return;
            }
            if (streams.size() - peerOpenedActive >= peer.maxConcurrentStreams()) {
                sink.error(new SessionClosedException(ErrorCode.REFUSED,
                    "peer allows " + peer.maxConcurrentStreams() + " concurrent streams"));
                return;
            }
            SessionBudget.Share share = budget.reserve();
            if (share == null) {
                sink.error(new SessionClosedException(ErrorCode.REFUSED, budget.noRoomMessage()));
                return;
            }
            int id = ids.nextLocal();
            StreamState s = newStream(id, name, true, share);
            writer.open(id, name);
            scheduleFlush();
            listener.onStreamOpened(s);
            sink.success(s);
        })));
    }

    @Override
    public Mono<Void> shutdown(Duration drain) {
        return Mono.defer(() -> {
            runOnLoop(() -> beginShutdown(drain));
            return onClose().onErrorResume(e -> Mono.empty());
        });
    }

    private void beginShutdown(Duration drain) {
        if (closed) {
            return;
        }
        if (link == null) {
            terminateAll(new SessionClosedException(ErrorCode.CANCELLED, "shut down while disconnected"));
            return;
        }
        if (!goingAway) {
            goingAway = true;
            writer.goAway(ErrorCode.NO_ERROR, ids.lastPeer(), "shutting down");
            flush();
        }
        if (drainTimer == null) {
            drainTimer = loop.schedule(() -> {
                for (StreamState s : new ArrayList<>(streams.values())) {
                    s.reset(ErrorCode.CANCELLED, "shutdown drain of " + drain + " expired");
                }
                closeNow(null);
            }, drain.toNanos(), TimeUnit.NANOSECONDS);
        }
        closeIfDrained();
    }

    /**
     * Refuses the whole session (an endpoint limit or policy, not a protocol error): sends
     * GOAWAY {@code REFUSED} with {@code reason} after this side's HELLO, fails every stream, closes.
     */
    public void refuse(String reason) {
        runOnLoop(() -> {
            if (!closed) {
                writer.goAway(ErrorCode.REFUSED, ids.lastPeer(), reason);
                terminateAll(new SessionClosedException(ErrorCode.REFUSED, reason));
                writer.closeConnection();
            }
        });
    }

    @Override
    public void close(String reason) {
        runOnLoop(() -> {
            if (!closed) {
                terminateAll(new SessionClosedException(ErrorCode.CANCELLED, reason));
                writer.closeConnection();
            }
        });
    }

    // =====================================================================================
    // Used by StreamState (on the loop)
    // =====================================================================================

    void runOnLoop(Runnable task) {
        if (loop.inEventLoop()) {
            task.run();
        } else {
            loop.execute(task);
        }
    }

    boolean isWritable() {
        return writable && !closed;
    }

    void wantsToWrite(StreamState s) {
        if (!s.queuedForWrite && !closed) {
            s.queuedForWrite = true;
            writeQueue.add(s);
        }
        if (writable) {
            writePending();
        }
    }

    /**
     * Serves streams, one frame each per turn, the most urgent first ({@link WriteScheduler}),
     * while the connection is writable.
     */
    private void writePending() {
        if (writing) {
            return; // re-entered from a producer that emitted synchronously: the outer loop serves it
        }
        writing = true;
        try {
            int maxFrame = peer.maxFramePayload();
            StreamState s;
            while (writable && !closed && (s = writeQueue.poll()) != null) {
                long now = pipe.on() ? clock.getAsLong() : 0; // no clock read per frame with the cap off
                boolean capped = pipe.on() && writeQueue.yieldsToActiveUrgent(s.urgency(), now);
                if (capped && pipe.full()) {
                    heldByPipe.add(s); // stays queuedForWrite; back in the queue when the pipe drains
                    probe(true);
                    continue;
                }
                s.queuedForWrite = false;
                int frame = writeQueue.moreUrgentOpen(s.urgency()) ? Math.min(maxFrame, SHARED_FRAME) : maxFrame;
                if (s.canWrite()) {
                    writeQueue.served(s.urgency(), now);
                    if (s.writeSome(frame) && !s.queuedForWrite) {
                        s.queuedForWrite = true;
                        writeQueue.add(s);
                    }
                }
                probe(capped);
                writable = link.sink().isWritable();
            }
        } finally {
            writing = false;
            for (StreamState held : heldByPipe) {
                writeQueue.add(held);
            }
            heldByPipe.clear();
        }
        scheduleFlush();
    }

    /** Sends a pipe probe if one is due ({@code capping}: the frame just served was capped). */
    private void probe(boolean capping) {
        long opaque = pipe.probeIfDue(capping);
        if (opaque != -1) {
            writer.ping(opaque);
        }
    }

    void writeData(StreamState stream, boolean fin, ByteBuf payload) {
        int length = payload == null ? 0 : payload.readableBytes();
        if (length > 0) {
            listener.onPayload(stream, true, payload); // before write(): the channel owns it after
        }
        writer.data(stream.id(), fin, payload);
        pipe.onWritten(length);
        listener.onDataSent(stream, length);
    }

    SessionListener listener() {
        return listener;
    }

    /**
     * Whether {@code length} more bytes of DATA for {@code s} fit in the session's buffer limit;
     * if not, fails the session with {@code FLOW_CONTROL_ERROR} naming the limit.
     */
    boolean admitsData(StreamState s, int length) {
        if (!budget.admits(length)) {
            protocolError(ErrorCode.FLOW_CONTROL_ERROR, budget.exceededMessage(length, s));
            return false;
        }
        return true;
    }

    void writeCredit(int id, long consumed, long limit) {
        writer.credit(id, consumed, limit);
        scheduleFlush();
    }

    void writeOpen(int id, String name) {
        writer.open(id, name);
        scheduleFlush();
    }

    /** DATA sent again after a resume: not reported to the listener as new data. */
    void writeRetransmitted(int id, boolean fin, ByteBuf payload) {
        writer.data(id, fin, payload);
    }

    void writeOpenOk(int id) {
        writer.openOk(id);
        scheduleFlush();
    }

    void writeReset(StreamState s, ErrorCode code, long finalOffset, String message) {
        writer.reset(s.id(), code, finalOffset, message, !s.isLocallyOpened());
        scheduleFlush();
    }

    void onStreamClosed(StreamState s, Throwable cause) {
        if (streams.remove(s.id()) != null) {
            writeQueue.closed(s.urgency());
            if (!s.isLocallyOpened()) {
                peerOpenedActive--;
            }
        }
        if (resumable() && !closed) {
            resumption.keepTombstone(s);
        }
        if (s.queuedForWrite) {
            writeQueue.remove(s);
            s.queuedForWrite = false;
        }
        listener.onStreamClosed(s, cause);
        closeIfDrained();
    }

    /** A protocol violation by the peer: GOAWAY with the code, fail every stream, close. */
    void protocolError(ErrorCode code, String message) {
        fail(code, message, true);
    }

    // =====================================================================================
    // Internals
    // =====================================================================================

    private void fail(ErrorCode code, String message, boolean sendGoAway) {
        if (closed) {
            return;
        }
        listener.onProtocolError(code, message);
        if (sendGoAway) {
            writer.goAway(code, ids.lastPeer(), message);
        }
        terminateAll(new SessionClosedException(code, message));
        writer.closeConnection();
    }

    private void closeIfDrained() {
        if (goingAway && streams.isEmpty() && !closed) {
            closeNow(null);
        }
    }

    private void closeNow(Throwable cause) {
        if (!closed) {
            terminateAll(cause);
            writer.closeConnection();
        }
    }

    private void terminateAll(Throwable cause) {
        if (closed) {
            return;
        }
        closed = true;
        writer.stop();
        if (resumption != null) {
            resumption.end(cause != null ? cause : new SessionClosedException(ErrorCode.CANCELLED, "session closed"));
        }
        if (keepalive != null) {
            keepalive.cancel(false);
        }
        if (handshakeTimer != null) {
            handshakeTimer.cancel(false);
        }
        if (drainTimer != null) {
            drainTimer.cancel(false);
        }
        Throwable streamCause = cause != null ? cause
            : new SessionClosedException(ErrorCode.CANCELLED, "session closed");
        List<StreamState> open = new ArrayList<>(streams.values());
        for (StreamState s : open) {
            s.terminate(streamCause);
        }
        streams.clear();
        writeQueue.clear();
        ready.tryEmitError(streamCause);
        listener.onClosed(this, cause);
        if (cause == null) {
            closedSink.tryEmitEmpty();
        } else {
            closedSink.tryEmitError(cause);
        }
    }

    // =====================================================================================
    // Resumption (PROTOCOL.md section 13), with Resumption; on the loop
    // =====================================================================================

    /** The connection is gone but the session stays, for the grace period, waiting for a resume. */
    private void disconnect(String why) {
        Link lost = link;
        link = null;
        writable = false;
        lost.drop();
        writer = new FrameWriter(new DiscardingSink(lost.sink().alloc()), config.maxQueuedControlFrames(), m -> { });
        if (keepalive != null) {
            keepalive.cancel(false);
        }
        resumption.disconnected(why);
        listener.onDisconnected(this, why);
    }

    /** Answers a resume on {@code on} with GOAWAY RESUME_REFUSED and closes that connection only. */
    void refuseResume(Link on, String reason) {
        on.writer().goAway(ErrorCode.RESUME_REFUSED, 0, reason);
        on.writer().flush();
        on.writer().stop();
        on.sink().close();
        listener.onResumeRefused(reason);
        if (on == first && carriesResume) {
            dissolve(new SessionClosedException(ErrorCode.RESUME_REFUSED, reason));
        }
    }

    /**
     * This fresh server session only carried a resume: its connection now belongs to the resumed
     * session (or was refused). It ends without a GOAWAY, without touching the connection, and
     * was never ready.
     */
    void dissolve(Throwable why) {
        if (closed) {
            return;
        }
        closed = true;
        if (handshakeTimer != null) {
            handshakeTimer.cancel(false);
        }
        ready.tryEmitError(why);
        closedSink.tryEmitEmpty();
    }

    /** The session's streams and tombstones, and what this side has seen of the peer's ids. */
    ResumeTable table() {
        return resumption.table(streams, ids.lastPeer());
    }

    /** Why {@code theirs} cannot describe this session, or null when it can. */
    String disagreement(ResumeTable theirs) {
        return resumption.disagreement(theirs, streams, ids);
    }

    /**
     * Moves the session onto {@code to}: the old connection, if any, is dropped, keepalive starts
     * again, and everything the peer's table {@code theirs} says it missed is sent. Returns the bytes
     * retransmitted.
     */
    long switchTo(Link to, ResumeTable theirs) {
        Link old = link;
        if (old != null && old != to) {
            old.drop();
        }
        link = to;
        writer = to.writer();
        pipe.reset();
        writable = to.sink().isWritable();
        lastReceivedNanos = clock.getAsLong();
        if (keepalive != null) {
            keepalive.cancel(false);
        }
        startKeepalive();
        long retransmitted = resumption.reconcile(theirs, streams, peer.maxFramePayload());
        resumeWriting();
        flush();
        return retransmitted;
    }

    /** Ends the session: a resume was refused for good, or the grace period passed. */
    void endFor(SessionClosedException cause) {
        terminateAll(cause);
    }

    FrameWriter writer() {
        return writer;
    }

    Resumption resumption() {
        return resumption;
    }

    /** Whether the session has ended; an ended session is never resumed. */
    public boolean isClosed() {
        return closed;
    }

    void flushSoon() {
        scheduleFlush();
    }

    boolean isClient() {
        return client;
    }

    HelloFrameCodec.PeerLimits peerLimits() {
        return peer;
    }

    StreamIds ids() {
        return ids;
    }

    long now() {
        return clock.getAsLong();
    }

    private void scheduleFlush() {
        if (!flushScheduled && !closed) {
            flushScheduled = true;
            loop.execute(this::flush);
        }
    }

    void flush() {
        flushScheduled = false;
        writer.flush();
    }

    @Override
    public String toString() {
        return (client ? "client" : "server") + " session (" + streams.size() + " streams, " + pingsSent + " pings)";
    }
}
