package io.migtunnel.cli;

import io.migtunnel.mux.SessionConfig;
import java.net.InetSocketAddress;
import java.time.Duration;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** Session limits and the metrics endpoint, shared by both roles. */
final class TunnelOptions {
    @Option(names = "--stream-window", paramLabel = "BYTES",
        description = "Receive window per stream and direction (default: ${DEFAULT-VALUE}).")
    int streamWindow = SessionConfig.DEFAULT_STREAM_WINDOW;

    @Option(names = "--max-frame", paramLabel = "BYTES",
        description = "Largest DATA payload accepted (default: ${DEFAULT-VALUE}).")
    int maxFrame = SessionConfig.DEFAULT_MAX_FRAME_PAYLOAD;

    @Option(names = "--max-streams", paramLabel = "N",
        description = "Streams the peer may have open at once (default: ${DEFAULT-VALUE}).")
    int maxStreams = SessionConfig.DEFAULT_MAX_CONCURRENT_STREAMS;

    @Option(names = "--max-session-buffer", paramLabel = "BYTES",
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
            .withStreamWindow(streamWindow)
            .withMaxFramePayload(maxFrame)
            .withMaxConcurrentStreams(maxStreams)
            .withKeepalive(Duration.ofSeconds(keepaliveSeconds), Duration.ofSeconds(4L * keepaliveSeconds))
            .withResumeGrace(Duration.ofSeconds(resumeGraceSeconds));
        if (maxSessionBuffer != null) {
            if (maxSessionBuffer < streamWindow) {
                throw new ParameterException(command.commandLine(),
                    "--max-session-buffer must be at least --stream-window (" + streamWindow + " bytes)");
            }
            config = config.withMaxSessionBuffered(maxSessionBuffer);
        }
        return config;
    }
}
