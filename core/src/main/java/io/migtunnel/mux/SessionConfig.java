package io.migtunnel.mux;

import io.migtunnel.protocol.Limits;
import java.time.Duration;

/**
 * Limits and timers of one tunnel session. Immutable; each {@code with…} method returns a copy.
 *
 * <p>Defaults are sized for migration links (10–25 Gbit/s, sub-millisecond RTT, plus event-loop
 * and GC pauses): a 16 MiB stream window covers ~5 ms at 25 Gbit/s and matches the 16 MiB that
 * QEMU's mirror job keeps in flight per disk, so a window never throttles a disk on its own.
 */
public final class SessionConfig {
    /** 16 MiB: the receive window granted to each stream in each direction. */
    public static final int DEFAULT_STREAM_WINDOW = 16 * 1024 * 1024;
    /** 256 KiB: the largest DATA payload accepted. */
    public static final int DEFAULT_MAX_FRAME_PAYLOAD = 256 * 1024;
    /** 128 streams opened by the peer at once. */
    public static final int DEFAULT_MAX_CONCURRENT_STREAMS = 128;
    /**
     * 10000 replies (PONG, RESET) queued for the peer while the connection is not writable: as
     * Netty's {@code Http2ControlFrameLimitEncoder}. At ~100 bytes each in Netty's outbound buffer,
     * about 1 MiB beyond the connection's high-water mark.
     */
    public static final int DEFAULT_MAX_QUEUED_CONTROL_FRAMES = 10_000;
    /** {@link #maxSessionBuffered()} when not set: derived from the stream limit and the window. */
    private static final long DERIVED = 0;

    private final int streamWindow;
    private final int maxFramePayload;
    private final int maxConcurrentStreams;
    private final Duration keepaliveInterval;
    private final Duration keepaliveTimeout;
    private final Duration handshakeTimeout;
    private final long maxSessionBuffered;
    private final int maxQueuedControlFrames;
    private final Duration resumeGrace;
    private final StreamPriorities priorities;

    private SessionConfig(int streamWindow, int maxFramePayload, int maxConcurrentStreams,
                          Duration keepaliveInterval, Duration keepaliveTimeout, Duration handshakeTimeout,
                          long maxSessionBuffered, int maxQueuedControlFrames, Duration resumeGrace,
                          StreamPriorities priorities) {
        if (streamWindow < Limits.MIN_STREAM_WINDOW) {
            throw new IllegalArgumentException("stream window must be at least " + Limits.MIN_STREAM_WINDOW);
        }
        if (maxFramePayload < Limits.MIN_FRAME_PAYLOAD || maxFramePayload > Limits.MAX_FRAME_PAYLOAD) {
            throw new IllegalArgumentException("max frame payload must be within "
                + Limits.MIN_FRAME_PAYLOAD + ".." + Limits.MAX_FRAME_PAYLOAD);
        }
        if (maxConcurrentStreams < 1) {
            throw new IllegalArgumentException("max concurrent streams must be at least 1");
        }
        if (keepaliveTimeout.compareTo(keepaliveInterval) <= 0) {
            throw new IllegalArgumentException("keepalive timeout must be longer than the keepalive interval");
        }
        if (maxSessionBuffered != DERIVED && maxSessionBuffered < streamWindow) {
            throw new IllegalArgumentException("max session buffer must be at least one stream window ("
                + streamWindow + " bytes), got " + maxSessionBuffered);
        }
        if (maxQueuedControlFrames < 1) {
            throw new IllegalArgumentException("max queued control frames must be at least 1, got "
                + maxQueuedControlFrames);
        }
        this.streamWindow = streamWindow;
        this.maxFramePayload = maxFramePayload;
        this.maxConcurrentStreams = maxConcurrentStreams;
        this.keepaliveInterval = keepaliveInterval;
        this.keepaliveTimeout = keepaliveTimeout;
        this.handshakeTimeout = handshakeTimeout;
        this.maxSessionBuffered = maxSessionBuffered;
        this.maxQueuedControlFrames = maxQueuedControlFrames;
        if (resumeGrace.isNegative()) {
            throw new IllegalArgumentException("resume grace period must not be negative, got " + resumeGrace);
        }
        this.resumeGrace = resumeGrace;
        this.priorities = java.util.Objects.requireNonNull(priorities, "priorities");
    }

    /** The defaults described on this class; 5 s keepalive interval, 20 s timeout, 10 s handshake. */
    public static SessionConfig defaults() {
        return new SessionConfig(DEFAULT_STREAM_WINDOW, DEFAULT_MAX_FRAME_PAYLOAD, DEFAULT_MAX_CONCURRENT_STREAMS,
            Duration.ofSeconds(5), Duration.ofSeconds(20), Duration.ofSeconds(10), DERIVED,
            DEFAULT_MAX_QUEUED_CONTROL_FRAMES, Duration.ZERO,
            StreamPriorities.defaults());
    }

    /** Receive window per stream and direction, in bytes. */
    public int streamWindow() {
        return streamWindow;
    }

    /** Largest DATA payload this side accepts, in bytes. */
    public int maxFramePayload() {
        return maxFramePayload;
    }

    /** How many peer-opened streams may be open at once; more are refused with RESET REFUSED. */
    public int maxConcurrentStreams() {
        return maxConcurrentStreams;
    }

    /** How often a PING is sent. */
    public Duration keepaliveInterval() {
        return keepaliveInterval;
    }

    /** How long without any frame from the peer before the session is declared dead. */
    public Duration keepaliveTimeout() {
        return keepaliveTimeout;
    }

    /** How long the peer has to send its HELLO. */
    public Duration handshakeTimeout() {
        return handshakeTimeout;
    }

    /**
     * The most this side holds for the session's streams at once: bytes received and not yet
     * consumed, over all streams, and the credit it grants. Every open stream (whoever opened it)
     * reserves one {@link #streamWindow()} of it until its inbound direction has finished, and
     * credit is granted only within that reservation; a stream that finds no room is refused
     * (RESET {@code REFUSED} "session buffer limit …"). A peer's DATA beyond it is a
     * {@code FLOW_CONTROL_ERROR}. Default: {@link #maxConcurrentStreams()} × {@link #streamWindow()}.
     */
    public long maxSessionBuffered() {
        return maxSessionBuffered != DERIVED ? maxSessionBuffered : (long) maxConcurrentStreams * streamWindow;
    }

    public SessionConfig withStreamWindow(int bytes) {
        return new SessionConfig(bytes, maxFramePayload, maxConcurrentStreams, keepaliveInterval, keepaliveTimeout,
            handshakeTimeout, maxSessionBuffered, maxQueuedControlFrames, resumeGrace, priorities);
    }

    public SessionConfig withMaxFramePayload(int bytes) {
        return new SessionConfig(streamWindow, bytes, maxConcurrentStreams, keepaliveInterval, keepaliveTimeout,
            handshakeTimeout, maxSessionBuffered, maxQueuedControlFrames, resumeGrace, priorities);
    }

    public SessionConfig withMaxConcurrentStreams(int streams) {
        return new SessionConfig(streamWindow, maxFramePayload, streams, keepaliveInterval, keepaliveTimeout,
            handshakeTimeout, maxSessionBuffered, maxQueuedControlFrames, resumeGrace, priorities);
    }

    public SessionConfig withKeepalive(Duration interval, Duration timeout) {
        return new SessionConfig(streamWindow, maxFramePayload, maxConcurrentStreams, interval, timeout,
            handshakeTimeout, maxSessionBuffered, maxQueuedControlFrames, resumeGrace, priorities);
    }

    public SessionConfig withHandshakeTimeout(Duration timeout) {
        return new SessionConfig(streamWindow, maxFramePayload, maxConcurrentStreams, keepaliveInterval,
            keepaliveTimeout, timeout, maxSessionBuffered, maxQueuedControlFrames, resumeGrace, priorities);
    }

    /**
     * Sets {@link #maxSessionBuffered()}; at least one stream window. A value below
     * {@code maxConcurrentStreams × streamWindow} lets fewer streams be open at once.
     */
    public SessionConfig withMaxSessionBuffered(long bytes) {
        if (bytes < 1) {
            throw new IllegalArgumentException("max session buffer must be positive, got " + bytes);
        }
        return new SessionConfig(streamWindow, maxFramePayload, maxConcurrentStreams, keepaliveInterval,
            keepaliveTimeout, handshakeTimeout, bytes, maxQueuedControlFrames, resumeGrace, priorities);
    }

    /**
     * How many replies the peer asked for (a PONG for each PING, a RESET for each stream it opened
     * that is refused or fails) may be queued while the connection is not writable; the count
     * starts again whenever the connection is writable. A peer that goes beyond it is sent GOAWAY
     * {@code EXCESSIVE_LOAD} "control frame limit …" and the session closes (PROTOCOL.md section 8).
     */
    public int maxQueuedControlFrames() {
        return maxQueuedControlFrames;
    }

    /** Sets {@link #maxQueuedControlFrames()}; at least 1. */
    public SessionConfig withMaxQueuedControlFrames(int frames) {
        return new SessionConfig(streamWindow, maxFramePayload, maxConcurrentStreams, keepaliveInterval,
            keepaliveTimeout, handshakeTimeout, maxSessionBuffered, frames, resumeGrace, priorities);
    }

    /**
     * How long a session outlives a lost connection, waiting to be resumed on a new one
     * (PROTOCOL.md section 13); {@link Duration#ZERO}, the default, turns resumption off: a lost
     * connection then ends the session and fails its streams.
     */
    public Duration resumeGrace() {
        return resumeGrace;
    }

    /** Whether this side keeps sessions for resumption: a {@link #resumeGrace()} above zero. */
    public boolean resumable() {
        return !resumeGrace.isZero();
    }

    /** Sets {@link #resumeGrace()}; zero turns resumption off. */
    public SessionConfig withResumeGrace(Duration grace) {
        return new SessionConfig(streamWindow, maxFramePayload, maxConcurrentStreams, keepaliveInterval,
            keepaliveTimeout, handshakeTimeout, maxSessionBuffered, maxQueuedControlFrames, grace, priorities);
    }

    /** The urgency of each stream this side writes ({@link StreamPriorities#defaults()} unless set). */
    public StreamPriorities priorities() {
        return priorities;
    }

    /** Sets {@link #priorities()}. */
    public SessionConfig withPriorities(StreamPriorities streamPriorities) {
        return new SessionConfig(streamWindow, maxFramePayload, maxConcurrentStreams, keepaliveInterval,
            keepaliveTimeout, handshakeTimeout, maxSessionBuffered, maxQueuedControlFrames, resumeGrace, streamPriorities);
    }

    @Override
    public String toString() {
        return "SessionConfig{streamWindow=" + streamWindow + ", maxFramePayload=" + maxFramePayload
            + ", maxConcurrentStreams=" + maxConcurrentStreams + ", keepalive=" + keepaliveInterval + "/"
            + keepaliveTimeout + ", handshakeTimeout=" + handshakeTimeout + ", maxSessionBuffered="
            + maxSessionBuffered() + ", maxQueuedControlFrames=" + maxQueuedControlFrames + ", resumeGrace=" + resumeGrace
            + ", priorities=" + priorities + "}";
    }
}
