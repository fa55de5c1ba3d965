package io.migtunnel.transport.internal;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bounds the connections a destination holds that have connected but not finished the handshake
 * (TLS, then the peer's HELLO): anyone who reaches the port can open them, and each lives until
 * the handshake timeout. A connection beyond the limit is closed at once, before any byte is read;
 * a WARN names the limit (at most one a second, counting the closes in between).
 */
final class PendingHandshakes {
    private static final Logger log = LoggerFactory.getLogger(PendingHandshakes.class);
    private static final AttributeKey<Boolean> COUNTED = AttributeKey.valueOf("migtunnel.pendingHandshake");
    private static final long WARN_INTERVAL_NANOS = 1_000_000_000L;

    private final int limit;
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicLong lastWarn = new AtomicLong(System.nanoTime() - WARN_INTERVAL_NANOS);
    private final AtomicInteger closedSinceWarn = new AtomicInteger();

    PendingHandshakes(int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("maxPendingHandshakes must be at least 1, got " + limit);
        }
        this.limit = limit;
    }

    /** A new connection: counts it as pending until {@link #done}, or closes it when the limit is reached. */
    void admit(Channel ch) {
        if (pending.incrementAndGet() > limit) {
            pending.decrementAndGet();
            ch.close();
            warn(ch);
            return;
        }
        ch.attr(COUNTED).set(Boolean.TRUE);
        ch.closeFuture().addListener(f -> done(ch));
    }

    /** The connection finished its handshake, or closed: no longer pending. Idempotent. */
    void done(Channel ch) {
        if (ch.attr(COUNTED).getAndSet(null) != null) {
            pending.decrementAndGet();
        }
    }

    /** Connections pending now. */
    int pending() {
        return pending.get();
    }

    private void warn(Channel ch) {
        int closed = closedSinceWarn.incrementAndGet();
        long now = System.nanoTime();
        long last = lastWarn.get();
        if (now - last >= WARN_INTERVAL_NANOS && lastWarn.compareAndSet(last, now)) {
            closedSinceWarn.addAndGet(-closed);
            log.warn("closed connection from {}: too many connections in their handshake (TLS and HELLO): "
                + "limit {} (maxPendingHandshakes){}", ch.remoteAddress(), limit,
                closed > 1 ? "; " + closed + " connections closed for it since the last warning" : "");
        }
    }
}
