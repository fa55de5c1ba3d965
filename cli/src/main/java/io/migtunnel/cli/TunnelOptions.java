package io.migtunnel.cli;

import io.migtunnel.mux.SessionConfig;
import io.migtunnel.mux.StreamPriorities;
import java.util.Map;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;
import java.net.InetSocketAddress;
import java.time.Duration;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** Session limits and the metrics endpoint, shared by both roles. */
final class TunnelOptions {
    @Option(names = "--stream-window", paramLabel = "BYTES", converter = ByteUnits.class,
        description = "Receive window per stream and direction, e.g. 1M (default: ${DEFAULT-VALUE}).")
    long streamWindow = SessionConfig.DEFAULT_STREAM_WINDOW;

    @Option(names = "--max-frame", paramLabel = "BYTES", converter = ByteUnits.class,
        description = "Largest DATA payload accepted, e.g. 256K (default: ${DEFAULT-VALUE}).")
    long maxFrame = SessionConfig.DEFAULT_MAX_FRAME_PAYLOAD;

    @Option(names = "--max-streams", paramLabel = "N",
        description = "Streams the peer may have open at once (default: ${DEFAULT-VALUE}).")
    int maxStreams = SessionConfig.DEFAULT_MAX_CONCURRENT_STREAMS;

    @Option(names = "--max-session-buffer", paramLabel = "BYTES", converter = ByteUnits.class,
        description = "Bytes the session holds for all its streams at once; each open stream reserves one "
            + "--stream-window of it, a stream without room is refused (default: --max-streams × --stream-window).")
    Long maxSessionBuffer;

    @Option(names = "--keepalive", paramLabel = "SECONDS",
        description = "PING interval; the peer is declared dead after 4 intervals of silence (default: ${DEFAULT-VALUE}).")
    int keepaliveSeconds = 5;

    @Option(names = "--resume-grace", paramLabel = "SECONDS",
        description = "How long a session outlives a lost tunnel connection, its streams and local sockets open, "
            + "waiting to be resumed on a new one; 0 turns resumption off: a lost connection fails every stream "
            + "(default: ${DEFAULT-VALUE}).")
    int resumeGraceSeconds = 120;

    @Option(names = "--priority", paramLabel = "NAME=URGENCY", converter = Priority.class,
        description = "Urgency 0 (most urgent) to 7 of the streams named NAME, or NAME* for a prefix, when this side "
            + "writes them; set the same on both roles. Default: control and libvirt 0, migration 1, nbd and nbd/* 5, "
            + "others 3. Repeatable; a later one wins.")
    java.util.List<Map.Entry<String, Integer>> priorities = new java.util.ArrayList<>();

    @Option(names = "--urgent-pipe-limit", paramLabel = "BYTES", converter = ByteUnits.class,
        description = "While a stream of urgency 0 is writing, keep at most this many bytes of the other streams' "
            + "data in the connection unread by the peer, e.g. 128K: lower cuts the urgent stream's wait and costs "
            + "bulk throughput meanwhile; 256K is the measured suggestion; 0 = no cap (default: ${DEFAULT-VALUE}).")
    long urgentPipeLimit = StreamPriorities.DEFAULT_URGENT_PIPE_LIMIT;

    @Option(names = "--metrics", paramLabel = "HOST:PORT", converter = Endpoints.HostPort.class,
        description = "Serve Prometheus metrics on http://HOST:PORT/metrics and a health check on /health "
            + "(200 while a tunnel session is up, else 503).")
    InetSocketAddress metrics;

    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    SessionConfig toConfig() {
        if (resumeGraceSeconds < 0) {
            throw new ParameterException(command.commandLine(), "--resume-grace must be 0 or more seconds");
        }
        SessionConfig config = SessionConfig.defaults()
            .withStreamWindow(intBytes("--stream-window", streamWindow))
            .withMaxFramePayload(intBytes("--max-frame", maxFrame))
            .withMaxConcurrentStreams(maxStreams)
            .withKeepalive(Duration.ofSeconds(keepaliveSeconds), Duration.ofSeconds(4L * keepaliveSeconds))
            .withResumeGrace(Duration.ofSeconds(resumeGraceSeconds));
        StreamPriorities rules = StreamPriorities.defaults();
        for (Map.Entry<String, Integer> p : priorities) {
            rules = rules.with(p.getKey(), p.getValue());
        }
        try {
            rules = rules.withUrgentPipeLimit(intBytes("--urgent-pipe-limit", urgentPipeLimit));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(command.commandLine(), "--urgent-pipe-limit: " + e.getMessage());
        }
        config = config.withPriorities(rules);
        if (maxSessionBuffer != null) {
            if (maxSessionBuffer < streamWindow) {
                throw new ParameterException(command.commandLine(),
                    "--max-session-buffer must be at least --stream-window (" + streamWindow + " bytes)");
            }
            config = config.withMaxSessionBuffered(maxSessionBuffer);
        }
        return config;
    }

    private int intBytes(String option, long bytes) {
        if (bytes > Integer.MAX_VALUE) {
            throw new ParameterException(command.commandLine(), option + " must be below 2 GiB, not " + bytes + " bytes");
        }
        return (int) bytes;
    }

    /** NAME=URGENCY, NAME a stream name or a prefix ending in {@code *}, URGENCY 0..7. */
    static final class Priority implements ITypeConverter<Map.Entry<String, Integer>> {
        @Override
        public Map.Entry<String, Integer> convert(String value) {
            Map.Entry<String, String> e = Endpoints.named(value, "URGENCY", true);
            String name = e.getKey();
            int urgency;
            try {
                urgency = Integer.parseInt(e.getValue());
            } catch (NumberFormatException notANumber) {
                urgency = -1;
            }
            if (urgency < StreamPriorities.MOST_URGENT || urgency > StreamPriorities.LEAST_URGENT) {
                throw new TypeConversionException("'" + value + "': urgency must be 0 (most urgent) to 7");
            }
            return Map.entry(name, urgency);
        }
    }
}
