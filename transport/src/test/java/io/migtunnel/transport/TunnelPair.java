package io.migtunnel.transport;

import io.migtunnel.mux.Session;
import io.migtunnel.mux.SessionConfig;
import io.migtunnel.testing.Await;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A destination and a source joined over loopback TCP, for tests. */
final class TunnelPair implements AutoCloseable {
    final Tunnel destination;
    final Tunnel source;

    private TunnelPair(Tunnel destination, Tunnel source) {
        this.destination = destination;
        this.source = source;
    }

    /** {@code routes} maps a name to the destination's target socket; the source exposes dir/NAME.sock. */
    static TunnelPair start(Path dir, Map<String, Path> routes, SessionConfig config) {
        return start(dir, routes, config, null, null);
    }

    /** The same over mutual TLS: the destination with {@code destinationTls}, the source with {@code sourceTls}. */
    static TunnelPair startTls(Path dir, Map<String, Path> routes, SessionConfig config, TunnelTls destinationTls,
                               TunnelTls sourceTls) {
        return start(dir, routes, config, destinationTls, sourceTls);
    }

    private static TunnelPair start(Path dir, Map<String, Path> routes, SessionConfig config, TunnelTls destinationTls,
                                    TunnelTls sourceTls) {
        TunnelDestination d = TunnelDestination.create().config(config);
        TunnelSource s = TunnelSource.create().config(config);
        if (destinationTls != null) {
            d = d.tls(destinationTls);
        }
        if (sourceTls != null) {
            s = s.tls(sourceTls);
        }
        for (Map.Entry<String, Path> e : routes.entrySet()) {
            d = d.route(e.getKey(), e.getValue());
            s = s.expose(e.getKey(), exposed(dir, e.getKey()));
        }
        Tunnel dest = d.bind().block(Duration.ofSeconds(10));
        Tunnel src = s.connect(new InetSocketAddress("127.0.0.1", dest.address().getPort())).start()
            .block(Duration.ofSeconds(10));
        return new TunnelPair(dest, src);
    }

    static Path exposed(Path dir, String name) {
        return dir.resolve(name.replace('/', '_') + "-exposed.sock");
    }

    Session sourceSession() {
        return source.sessions().get(0);
    }

    Session destinationSession() {
        return destination.sessions().get(0);
    }

    /** Runs {@code query} on the session's event loop and returns its answer. */
    static <T> T onLoop(Session session, Callable<T> query) throws Exception {
        CompletableFuture<T> f = new CompletableFuture<>();
        session.loop().execute(() -> {
            try {
                f.complete(query.call());
            } catch (Exception e) {
                f.completeExceptionally(e);
            }
        });
        return f.get(5, TimeUnit.SECONDS);
    }

    /** Polls {@code condition} on the session's loop until it holds; fails naming {@code what} after {@code timeout}. */
    static void awaitOnLoop(String what, Session session, Callable<Boolean> condition, Duration timeout)
        throws Exception {
        Await.until(what, timeout, () -> onLoop(session, condition));
    }

    @Override
    public void close() {
        source.dispose();
        destination.dispose();
    }
}
