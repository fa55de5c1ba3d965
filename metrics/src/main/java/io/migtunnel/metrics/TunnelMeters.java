package io.migtunnel.metrics;

import io.micrometer.core.instrument.Meter;

/**
 * Every meter recorded by {@link MicrometerSessionListener}: name, type, tag keys and meaning.
 * Tags have bounded values: stream names (routes), directions, error-code names, resume outcomes.
 * There is never a per-connection or per-stream-id tag.
 */
public enum TunnelMeters implements MeterSpec.Entry {
    STREAM_BYTES("migtunnel.stream.bytes", Meter.Type.COUNTER, "bytes",
        "DATA payload bytes sent to or received from the peer", Tags.STREAM, Tags.DIRECTION),
    STREAM_FRAMES("migtunnel.stream.frames", Meter.Type.COUNTER, null,
        "DATA frames sent to or received from the peer", Tags.STREAM, Tags.DIRECTION),
    STREAM_CREDIT_BLOCKED("migtunnel.stream.credit.blocked", Meter.Type.TIMER, null,
        "Time a stream had data to send but no credit from the peer", Tags.STREAM),
    STREAM_QUEUEING_DELAY("migtunnel.stream.queueing.delay", Meter.Type.TIMER, null,
        "Time from bytes being read from a stream's local socket to their DATA frame being written to the tunnel, "
            + "per frame, by the stream's urgency (0 most urgent; histogram)", Tags.URGENCY),
    STREAM_BUFFERED("migtunnel.stream.buffered", Meter.Type.GAUGE, "bytes",
        "Bytes received from the peer and not yet taken by the local writer, over the open streams of a name",
        Tags.STREAM),
    STREAM_SEND_WINDOW("migtunnel.stream.send.window", Meter.Type.GAUGE, "bytes",
        "Bytes the peer currently allows this side to send (credit left), over the open streams of a name",
        Tags.STREAM),
    STREAMS_OPENED("migtunnel.streams.opened", Meter.Type.COUNTER, null,
        "Streams opened by either side", Tags.STREAM),
    STREAMS_ACTIVE("migtunnel.streams.active", Meter.Type.GAUGE, null,
        "Streams currently open, over all sessions"),
    STREAMS_RESET("migtunnel.streams.reset", Meter.Type.COUNTER, null,
        "Streams ended by a reset (or by the end of their session)", Tags.STREAM, Tags.REASON, Tags.SIDE),
    SESSION_RTT("migtunnel.session.rtt", Meter.Type.TIMER, null,
        "Round trip measured by keepalive PING/PONG"),
    SESSIONS_ACTIVE("migtunnel.sessions.active", Meter.Type.GAUGE, null,
        "Sessions whose handshake completed and that have not closed"),
    SESSIONS_DISCONNECTED("migtunnel.sessions.disconnected", Meter.Type.GAUGE, null,
        "Sessions whose connection was lost, waiting (for their grace period) to be resumed on a new one"),
    SESSION_RESUMES("migtunnel.session.resumes", Meter.Type.COUNTER, null,
        "Resumes of a session on a new connection, and resume attempts refused", Tags.OUTCOME),
    SESSION_OUTAGE("migtunnel.session.outage", Meter.Type.TIMER, null,
        "Time from this side noticing a lost connection to the session resuming (zero if it had not noticed; histogram)"),
    SESSION_RETRANSMITTED_BYTES("migtunnel.session.retransmitted.bytes", Meter.Type.COUNTER, "bytes",
        "DATA payload bytes this side sent again after resumes"),
    SESSION_CONNECTIONS("migtunnel.session.connections", Meter.Type.COUNTER, null,
        "Tunnel connections sessions have run on: one when a session is ready, one more at each resume"),
    PROTOCOL_ERRORS("migtunnel.protocol.errors", Meter.Type.COUNTER, null,
        "Sessions failed by a protocol error or keepalive timeout detected on this side", Tags.CODE),
    NBD_REQUESTS("migtunnel.nbd.requests", Meter.Type.COUNTER, null,
        "NBD requests seen on a disk's stream, by type", Tags.STREAM, Tags.TYPE),
    NBD_BYTES("migtunnel.nbd.bytes", Meter.Type.COUNTER, "bytes",
        "NBD data bytes: WRITE payloads sent, READ data returned", Tags.STREAM, Tags.TYPE),
    NBD_ERRORS("migtunnel.nbd.errors", Meter.Type.COUNTER, null,
        "NBD replies carrying an error", Tags.STREAM, Tags.TYPE),
    NBD_IN_FLIGHT("migtunnel.nbd.in.flight", Meter.Type.GAUGE, null,
        "NBD requests sent and not yet answered", Tags.STREAM),
    NBD_LATENCY("migtunnel.nbd.request.latency", Meter.Type.TIMER, null,
        "Time from an NBD request to its complete reply, as seen by the tunnel (histogram)", Tags.STREAM, Tags.TYPE);

    private final MeterSpec spec;

    TunnelMeters(String meterName, Meter.Type type, String baseUnit, String description, String... tagKeys) {
        this.spec = new MeterSpec(meterName, type, baseUnit, description, tagKeys);
    }

    @Override
    public MeterSpec spec() {
        return spec;
    }

    /** Tag keys and fixed values. */
    public static final class Tags {
        /** The stream name (its route), such as {@code migration} or {@code nbd/disk0}. */
        public static final String STREAM = "stream";
        /** A stream's urgency on this side, {@code 0} (most urgent) to {@code 7}. */
        public static final String URGENCY = "urgency";
        /** {@link #SENT} or {@link #RECEIVED}. */
        public static final String DIRECTION = "direction";
        /** The error code name ({@code UNKNOWN} for a code this version does not know). */
        public static final String REASON = "reason";
        /** {@link #LOCAL} or {@link #PEER}: which side reset the stream. */
        public static final String SIDE = "side";
        /** The error code name of a protocol error. */
        public static final String CODE = "code";
        /** An NBD command: {@code read}, {@code write}, {@code write_zeroes}, {@code trim}, {@code flush}, … */
        public static final String TYPE = "type";
        /** {@link #RESUMED} or {@link #REFUSED}: how a resume ended. */
        public static final String OUTCOME = "outcome";

        public static final String SENT = "sent";
        public static final String RECEIVED = "received";
        public static final String LOCAL = "local";
        public static final String PEER = "peer";
        public static final String RESUMED = "resumed";
        public static final String REFUSED = "refused";
        /** The stream tag of every name beyond the listener's limit of distinct names. */
        public static final String OTHER_STREAMS = "_other";

        private Tags() {
        }
    }
}
