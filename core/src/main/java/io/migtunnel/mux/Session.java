package io.migtunnel.mux;

import io.netty.util.concurrent.EventExecutor;
import java.time.Duration;
import reactor.core.publisher.Mono;

/**
 * One tunnel connection's multiplexer, as its users see it: open streams, watch it become ready
 * and close, shut it down. Obtained from a tunnel endpoint (or a {@link SessionListener}); the
 * transport owns the connection underneath.
 *
 * <p>Every method may be called from any thread. The counters are exact when read on the
 * session's event loop and a recent value elsewhere.
 */
public interface Session {
    /** The event loop that owns the session: its state changes, callbacks and exact reads happen there. */
    EventExecutor loop();

    /** The limits this side announced and enforces. */
    SessionConfig config();

    /** Completes when the peer's HELLO has been accepted; fails if the session closes first. */
    Mono<Void> ready();

    /** Completes when the session has closed: cleanly, or with the cause as error. */
    Mono<Void> onClose();

    /**
     * Opens a stream named {@code name}. The Mono emits the stream at once (DATA may be sent
     * before the peer's OPEN_OK); {@link MuxStream#onOpened()} tells when the peer connected it.
     * It fails with {@link SessionClosedException} {@code REFUSED} when the session is closing or
     * a stream or buffer limit leaves no room.
     */
    Mono<MuxStream> open(String name);

    /**
     * Graceful shutdown, when subscribed: GOAWAY(NO_ERROR), no new streams, then close once the
     * open streams have finished or {@code drain} has passed (what is left is reset with
     * CANCELLED). Completes when the session has closed; the first subscription's drain applies.
     */
    Mono<Void> shutdown(Duration drain);

    /** Closes at once: every stream fails with {@code reason}. */
    void close(String reason);

    /**
     * Whether the session has a connection: false once closed, and while a resumable session
     * waits for its connection to be replaced (PROTOCOL.md section 13).
     */
    boolean isConnected();

    /** Number of streams currently open. */
    int activeStreams();

    /**
     * Bytes received and not yet consumed, over all streams; never above
     * {@link SessionConfig#maxSessionBuffered()}.
     */
    long bufferedBytes();

    /**
     * Bytes of encoded frames handed to the connection and not yet written to the socket: what
     * this side holds for a peer that does not read.
     */
    long outboundBufferedBytes();
}
