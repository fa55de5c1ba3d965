package io.migtunnel.metrics;

import io.migtunnel.metrics.TunnelMeters.Tags;
import io.migtunnel.mux.MuxStream;
import io.migtunnel.mux.Session;
import io.migtunnel.mux.SessionClosedException;
import io.migtunnel.mux.SessionListener;
import io.migtunnel.mux.StreamResetException;
import io.migtunnel.protocol.ErrorCode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Comparator;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Records the {@link TunnelMeters} of every session it is given to, into the caller's
 * {@link MeterRegistry}. One instance may observe many sessions on several event loops.
 *
 * <pre>{@code
 * MicrometerSessionListener metrics = new MicrometerSessionListener(registry);
 * TunnelDestination.create().listener(metrics)...
 * }</pre>
 *
 * <p>The data path costs one map lookup by stream name per event, and counter increments and
 * atomic additions (bytes, frames, buffered bytes, send window): the meters of each stream name
 * are created once, and nothing is allocated per frame. At most {@link #DEFAULT_MAX_STREAM_NAMES}
 * distinct names get their own tag (a peer may open streams with any name); the rest are
 * tagged {@value TunnelMeters.Tags#OTHER_STREAMS}.
 *
 * <p>{@link #health()} is up while at least one session is connected. A resumable session whose
 * connection was lost stays active but counts as disconnected, from
 * {@link #onDisconnected(Session, String) onDisconnected} until it is resumed or closes.
 */
public final class MicrometerSessionListener implements SessionListener {
    /** Distinct stream names tagged by name; further names share one tag. */
    public static final int DEFAULT_MAX_STREAM_NAMES = 100;
    /** The largest outage the outage histogram has a bucket for (longer ones fall in +Inf). */
    static final Duration MAX_EXPECTED_OUTAGE = Duration.ofMinutes(10);

    /** The range of the queueing-delay histograms' buckets (shorter or longer delays fall in the end buckets). */
    static final Duration MIN_EXPECTED_QUEUEING = Duration.ofNanos(10_000);
    static final Duration MAX_EXPECTED_QUEUEING = Duration.ofSeconds(10);

    private final MeterRegistry registry;
    private final int maxStreamNames;
    /** Per urgency, its queueing-delay timer once a frame of that class was written; racy but idempotent. */
    private final Timer[] queueingDelay = new Timer[io.migtunnel.mux.StreamPriorities.LEAST_URGENT + 1];
    private final Map<String, StreamMeters> byStreamName = new ConcurrentHashMap<>();
    private final Set<MuxStream> activeStreams = ConcurrentHashMap.newKeySet();
    private final Set<Session> activeSessions = ConcurrentHashMap.newKeySet();
    /** The active sessions whose connection is lost, with when and why: a subset of activeSessions. */
    private final Map<Session, Disconnect> disconnected = new ConcurrentHashMap<>();
    private final Timer roundTrip;
    private final Counter resumed;
    private final Counter resumeRefused;
    private final Timer outage;
    private final Counter retransmitted;
    private final Counter connections;
    private volatile String lastSessionEnd;
    /** When the last session closed, or null before one did. */
    private volatile Instant lastSessionEndAt;
    /** The clock of {@link #lastSessionEndAt} and of disconnects: the system's, or a fixed one in tests. */
    private Clock clock = Clock.systemUTC();

    /** Records into {@code registry}. */
    public MicrometerSessionListener(MeterRegistry registry) {
        this(registry, DEFAULT_MAX_STREAM_NAMES);
    }

    /** Records into {@code registry}, tagging at most {@code maxStreamNames} distinct stream names. */
    public MicrometerSessionListener(MeterRegistry registry, int maxStreamNames) {
        this.registry = Objects.requireNonNull(registry, "registry");
        if (maxStreamNames < 1) {
            throw new IllegalArgumentException("maxStreamNames must be at least 1, got " + maxStreamNames);
        }
        this.maxStreamNames = maxStreamNames;
        gauge(TunnelMeters.STREAMS_ACTIVE, activeStreams);
        gauge(TunnelMeters.SESSIONS_ACTIVE, activeSessions);
        gauge(TunnelMeters.SESSIONS_DISCONNECTED, disconnected.keySet());
        roundTrip = Timer.builder(TunnelMeters.SESSION_RTT.meterName())
            .description(TunnelMeters.SESSION_RTT.description())
            .register(registry);
        resumed = resumes(Tags.RESUMED);
        resumeRefused = resumes(Tags.REFUSED);
        outage = Timer.builder(TunnelMeters.SESSION_OUTAGE.meterName())
            .description(TunnelMeters.SESSION_OUTAGE.description())
            .publishPercentileHistogram()
            .maximumExpectedValue(MAX_EXPECTED_OUTAGE)
            .register(registry);
        retransmitted = counter(TunnelMeters.SESSION_RETRANSMITTED_BYTES);
        connections = counter(TunnelMeters.SESSION_CONNECTIONS);
    }

    private Counter resumes(String outcome) {
        return Counter.builder(TunnelMeters.SESSION_RESUMES.meterName())
            .description(TunnelMeters.SESSION_RESUMES.description())
            .tag(Tags.OUTCOME, outcome)
            .register(registry);
    }

    private Counter counter(TunnelMeters meter) {
        return Counter.builder(meter.meterName())
            .description(meter.description())
            .baseUnit(meter.baseUnit())
            .register(registry);
    }

    private void gauge(TunnelMeters meter, Set<?> members) {
        Gauge.builder(meter.meterName(), members, Set::size)
            .description(meter.description())
            .strongReference(true)
            .register(registry);
    }

    /** Reads the time of a session's end or disconnect from {@code clock} (for tests). */
    void useClock(Clock testClock) {
        this.clock = testClock;
    }

    /** Sessions whose handshake completed and that have not closed yet. */
    public int activeSessions() {
        return activeSessions.size();
    }

    /**
     * Up while at least one session is connected; the message says how many (and how many wait to
     * be resumed), or why none is: since when the earliest disconnected session has been
     * reconnecting, or since when no session has been up.
     */
    public TunnelHealth health() {
        int up = 0;
        for (Session s : activeSessions) {
            if (!disconnected.containsKey(s)) {
                up++;
            }
        }
        int waiting = disconnected.size();
        if (up > 0) {
            return new TunnelHealth(true, "ok: " + up + " session(s) up"
                + (waiting > 0 ? ", " + waiting + " reconnecting" : ""));
        }
        Disconnect earliest = disconnected.values().stream().min(Comparator.comparing(Disconnect::at)).orElse(null);
        if (earliest != null) {
            return new TunnelHealth(false, "reconnecting since " + earliest.at().truncatedTo(ChronoUnit.SECONDS)
                + " (connection lost: " + earliest.why() + ")");
        }
        String last = lastSessionEnd;
        Instant since = lastSessionEndAt;
        return new TunnelHealth(false, "no tunnel session is up" + (last == null ? ""
            : " since " + since.truncatedTo(ChronoUnit.SECONDS) + " (last one " + last + ")"));
    }

    @Override
    public void onReady(Session session) {
        activeSessions.add(session);
        connections.increment();
    }

    @Override
    public void onDisconnected(Session session, String why) {
        disconnected.putIfAbsent(session, new Disconnect(clock.instant(), why));
    }

    @Override
    public void onResumed(Session session, Duration outage, long retransmittedBytes) {
        disconnected.remove(session);
        resumed.increment();
        this.outage.record(outage);
        retransmitted.increment(retransmittedBytes);
        connections.increment();
    }

    @Override
    public void onResumeRefused(String reason) {
        resumeRefused.increment();
    }

    @Override
    public void onClosed(Session session, Throwable cause) {
        if (activeSessions.remove(session)) {
            lastSessionEndAt = clock.instant();
            lastSessionEnd = cause == null ? "closed gracefully" : "closed: " + cause.getMessage();
        }
        // after activeSessions: a concurrent health() may see it reconnecting a moment longer, never up
        disconnected.remove(session);
    }

    @Override
    public void onStreamOpened(MuxStream stream) {
        activeStreams.add(stream);
        meters(stream).opened.increment();
    }

    @Override
    public void onStreamClosed(MuxStream stream, Throwable cause) {
        activeStreams.remove(stream);
        if (cause != null) {
            Counter.builder(TunnelMeters.STREAMS_RESET.meterName())
                .description(TunnelMeters.STREAMS_RESET.description())
                .tag(Tags.STREAM, streamTag(stream.name()))
                .tag(Tags.REASON, resetReason(cause))
                .tag(Tags.SIDE, cause instanceof StreamResetException r && r.byPeer() ? Tags.PEER : Tags.LOCAL)
                .register(registry)
                .increment();
        }
    }

    @Override
    public void onDataSent(MuxStream stream, int bytes) {
        StreamMeters m = meters(stream);
        m.framesSent.increment();
        m.bytesSent.increment(bytes);
    }

    @Override
    public void onDataReceived(MuxStream stream, int bytes) {
        StreamMeters m = meters(stream);
        m.framesReceived.increment();
        m.bytesReceived.increment(bytes);
    }

    @Override
    public void onQueueingDelay(MuxStream stream, long nanos) {
        queueingDelay(stream.urgency()).record(nanos, TimeUnit.NANOSECONDS);
    }

    /** The histogram of {@code urgency}'s class, registered at its first frame (most classes are never used). */
    private Timer queueingDelay(int urgency) {
        Timer t = queueingDelay[urgency];
        if (t == null) {
            t = Timer.builder(TunnelMeters.STREAM_QUEUEING_DELAY.meterName())
                .description(TunnelMeters.STREAM_QUEUEING_DELAY.description())
                .tag(Tags.URGENCY, Integer.toString(urgency))
                .publishPercentileHistogram()
                .minimumExpectedValue(MIN_EXPECTED_QUEUEING)
                .maximumExpectedValue(MAX_EXPECTED_QUEUEING)
                .register(registry); // idempotent: a racing loop gets the same timer
            queueingDelay[urgency] = t;
        }
        return t;
    }

    @Override
    public void onCreditBlocked(MuxStream stream, long nanos) {
        meters(stream).creditBlocked.record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void onBufferedChanged(MuxStream stream, long delta) {
        meters(stream).buffered.addAndGet(delta);
    }

    @Override
    public void onSendWindowChanged(MuxStream stream, long delta) {
        meters(stream).sendWindow.addAndGet(delta);
    }

    @Override
    public void onRoundTrip(Duration rtt) {
        roundTrip.record(rtt);
    }

    @Override
    public void onProtocolError(ErrorCode code, String message) {
        Counter.builder(TunnelMeters.PROTOCOL_ERRORS.meterName())
            .description(TunnelMeters.PROTOCOL_ERRORS.description())
            .tag(Tags.CODE, code.name())
            .register(registry)
            .increment();
    }

    private StreamMeters meters(MuxStream stream) {
        StreamMeters m = byStreamName.get(stream.name());
        return m != null ? m : metersOf(streamTag(stream.name()));
    }

    private StreamMeters metersOf(String tag) {
        return byStreamName.computeIfAbsent(tag, name -> new StreamMeters(registry, name));
    }

    /** The stream's name, or the shared tag once the limit of distinct names is reached. */
    private String streamTag(String name) {
        if (byStreamName.containsKey(name) || byStreamName.size() < maxStreamNames) {
            return name;
        }
        return Tags.OTHER_STREAMS;
    }

    /** When and why a session's connection was lost. */
    private record Disconnect(Instant at, String why) {
    }

    /** The error code name of a stream's end; bounded: a code unknown to this version is {@code UNKNOWN}. */
    static String resetReason(Throwable cause) {
        if (cause instanceof StreamResetException r) {
            ErrorCode code = ErrorCode.fromCode(r.code());
            return code != null ? code.name() : "UNKNOWN";
        }
        if (cause instanceof SessionClosedException c) {
            return c.code().name();
        }
        return ErrorCode.INTERNAL_ERROR.name();
    }
}
