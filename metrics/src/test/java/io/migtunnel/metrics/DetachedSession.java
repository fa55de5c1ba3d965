package io.migtunnel.metrics;

import io.migtunnel.mux.MuxStream;
import io.migtunnel.mux.Session;
import io.migtunnel.mux.SessionConfig;
import io.netty.util.concurrent.EventExecutor;
import java.time.Duration;
import reactor.core.publisher.Mono;

/**
 * A session with no connection, for listener tests that only need a session's identity: every
 * method but {@link #config()} fails, so a listener that needs more cannot pass by accident.
 */
final class DetachedSession implements Session {
    @Override
    public EventExecutor loop() {
        throw new UnsupportedOperationException("detached session");
    }

    @Override
    public SessionConfig config() {
        return SessionConfig.defaults();
    }

    @Override
    public Mono<Void> ready() {
        throw new UnsupportedOperationException("detached session");
    }

    @Override
    public Mono<Void> onClose() {
        throw new UnsupportedOperationException("detached session");
    }

    @Override
    public Mono<MuxStream> open(String name) {
        throw new UnsupportedOperationException("detached session");
    }

    @Override
    public Mono<Void> shutdown(Duration drain) {
        throw new UnsupportedOperationException("detached session");
    }

    @Override
    public void close(String reason) {
        throw new UnsupportedOperationException("detached session");
    }

    @Override
    public boolean isConnected() {
        return true;
    }

    @Override
    public int activeStreams() {
        throw new UnsupportedOperationException("detached session");
    }

    @Override
    public long bufferedBytes() {
        throw new UnsupportedOperationException("detached session");
    }

    @Override
    public long outboundBufferedBytes() {
        throw new UnsupportedOperationException("detached session");
    }
}
