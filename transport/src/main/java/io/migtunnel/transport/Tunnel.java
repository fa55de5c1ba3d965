package io.migtunnel.transport;

import io.migtunnel.mux.MuxStream;
import io.migtunnel.mux.Session;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;

/**
 * A running tunnel endpoint: a destination listening for sources, or a source whose session is
 * up and whose exposed sockets accept connections. {@link #dispose()} closes it at once.
 */
public interface Tunnel extends Disposable {
    /** The TCP address: where a destination listens, or the destination a source is connected to. */
    InetSocketAddress address();

    /**
     * Graceful stop: stop accepting, send GOAWAY, let open streams finish for up to {@code drain},
     * remove the socket files this endpoint created, close.
     */
    Mono<Void> shutdown(Duration drain);

    /**
     * Completes when the endpoint has closed. For a source this is also when its session ended:
     * an error says why (peer gone, protocol error, keepalive timeout).
     */
    Mono<Void> onClose();

    /**
     * The sessions open now: a source's one session while it is up, a destination's one per
     * connected source. For diagnostics and embedders that watch buffers and streams.
     */
    List<Session> sessions();

    /**
     * Connections accepted whose tunnel handshake (TLS, then HELLO) has not completed; always 0
     * for a source.
     */
    default int pendingHandshakes() {
        return 0;
    }

    /**
     * Opens a stream named {@code name} served in this process rather than by a local socket; it
     * reaches the destination like a connection to an exposed socket of that name. Sources only:
     * a destination's Mono fails with {@link UnsupportedOperationException}.
     */
    default Mono<MuxStream> openStream(String name) {
        return Mono.error(new UnsupportedOperationException("only a source opens streams"));
    }
}
