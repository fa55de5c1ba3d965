package io.migtunnel.transport.internal;

import io.migtunnel.mux.MuxStream;
import io.migtunnel.mux.Session;
import io.migtunnel.mux.SessionClosedException;
import io.migtunnel.mux.SessionListener;
import io.migtunnel.protocol.ErrorCode;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs what an operator needs: sessions up and down, resets with their reason (rate limited by
 * {@link StreamFailureLog}), protocol errors.
 */
final class LoggingListener implements SessionListener {
    private static final Logger log = LoggerFactory.getLogger("io.migtunnel.session");
    /** Stream failure lines: at most {@link #FAILURE_LINES} of each kind per {@link #FAILURE_WINDOW}. */
    static final Duration FAILURE_WINDOW = Duration.ofSeconds(10);
    static final int FAILURE_LINES = 10;
    private final String peer;
    private final StreamFailureLog failures;

    LoggingListener(String peer) {
        this.peer = peer;
        this.failures = new StreamFailureLog("session with " + peer, FAILURE_WINDOW, FAILURE_LINES, System::nanoTime,
            log::warn);
    }

    @Override
    public void onReady(Session session) {
        log.info("session with {} established", peer);
    }

    @Override
    public void onStreamOpened(MuxStream stream) {
        log.debug("{} opened ({})", stream, stream.isLocallyOpened() ? "local" : "peer");
    }

    @Override
    public void onStreamClosed(MuxStream stream, Throwable cause) {
        if (cause != null) {
            failures.failed(stream, cause);
        } else {
            failures.tick();
            log.debug("{} finished", stream);
        }
    }

    @Override
    public void onRoundTrip(Duration rtt) {
        failures.tick(); // keepalive: a summary is due at most one interval after its window
    }

    @Override
    public void onProtocolError(ErrorCode code, String message) {
        log.error("session with {} failed: {}", peer, message);
    }

    @Override
    public void onGoAwayReceived(long code, String message) {
        log.info("peer {} sent GOAWAY {}: {}", peer, ErrorCode.describe(code), message);
    }

    @Override
    public void onDisconnected(Session session, String why) {
        log.warn("session with {} lost its connection ({}); keeping it for {} s to be resumed", peer, why,
            session.config().resumeGrace().toSeconds());
    }

    @Override
    public void onResumed(Session session, Duration outage, long retransmittedBytes) {
        log.info("session with {} resumed after {} ms without a connection; {} bytes sent again", peer,
            outage.toMillis(), retransmittedBytes);
    }

    @Override
    public void onResumeRefused(String reason) {
        log.warn("refused to resume a session with {}: {}", peer, reason);
    }

    @Override
    public void onClosed(Session session, Throwable cause) {
        failures.flush();
        if (cause == null || (cause instanceof SessionClosedException c && c.code() == ErrorCode.CANCELLED)) {
            log.info("session with {} closed{}", peer, cause == null ? "" : ": " + cause.getMessage());
        } else {
            log.warn("session with {} closed: {}", peer, cause.getMessage());
        }
    }
}
