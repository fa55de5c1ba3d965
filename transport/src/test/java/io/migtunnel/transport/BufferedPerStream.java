package io.migtunnel.transport;

import io.migtunnel.mux.MuxStream;
import io.migtunnel.mux.SessionListener;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The bytes each stream holds for its local consumer, summed from {@link #onBufferedChanged}
 * deltas, and the most each ever held. Updated on the session's loop, read from any thread.
 */
final class BufferedPerStream implements SessionListener {
    /** One stream's bytes held now and at most; written only on the session's loop. */
    private static final class Held {
        final String name;
        volatile long now;
        volatile long peak;

        Held(String name) {
            this.name = name;
        }
    }

    private final Map<MuxStream, Held> streams = new ConcurrentHashMap<>();

    @Override
    public void onBufferedChanged(MuxStream stream, long delta) {
        Held h = streams.computeIfAbsent(stream, s -> new Held(s.name()));
        h.now += delta;
        h.peak = Math.max(h.peak, h.now);
    }

    /** Bytes held now by the streams named {@code name}. */
    long now(String name) {
        return streams.values().stream().filter(h -> h.name.equals(name)).mapToLong(h -> h.now).sum();
    }

    /** The most any one stream named {@code name} has held. */
    long peak(String name) {
        return streams.values().stream().filter(h -> h.name.equals(name)).mapToLong(h -> h.peak).max().orElse(0);
    }

    /** Waits up to {@code timeout} until streams named {@code name} hold at least {@code bytes}; whether they did. */
    boolean awaitAtLeast(String name, long bytes, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (now(name) < bytes) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(5); // polling interval of a condition wait, not a synchronisation sleep
        }
        return true;
    }
}
