package io.migtunnel.cli;

import io.migtunnel.metrics.MetricsServer;
import io.migtunnel.metrics.MicrometerMigrationObserver;
import io.migtunnel.metrics.MicrometerNbdRecorder;
import io.migtunnel.metrics.MicrometerSessionListener;
import io.migtunnel.qemu.migration.MigrationObserver;
import io.migtunnel.qemu.nbd.NbdAwareness;
import io.migtunnel.mux.SessionListener;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.slf4j.Logger;
import reactor.netty.DisposableServer;

/** The {@code --metrics HOST:PORT} endpoint of a command: Prometheus {@code /metrics} and {@code /health}. */
final class MetricsEndpoint implements AutoCloseable {
    private static final Duration BIND_TIMEOUT = Duration.ofSeconds(10);

    private final SessionListener listener;
    private final MigrationObserver migrations;
    private final DisposableServer server;

    private MetricsEndpoint(SessionListener listener, MigrationObserver migrations, DisposableServer server) {
        this.listener = listener;
        this.migrations = migrations;
        this.server = server;
    }

    /** Serves metrics on {@code address}, or does nothing when it is null (no {@code --metrics}). */
    static MetricsEndpoint start(InetSocketAddress address, Logger log) {
        if (address == null) {
            return new MetricsEndpoint(SessionListener.NONE, MigrationObserver.NONE, null);
        }
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        MicrometerSessionListener metrics = new MicrometerSessionListener(registry);
        NbdAwareness nbd = new NbdAwareness(name -> name.startsWith("nbd"),
            disk -> new MicrometerNbdRecorder(registry, disk));
        DisposableServer server = MetricsServer.start(Endpoints.resolve(address), registry, metrics::health)
            .block(BIND_TIMEOUT);
        log.info("metrics: http://{}:{}/metrics, health: /health", server.host(), server.port());
        return new MetricsEndpoint(SessionListener.all(metrics, nbd), new MicrometerMigrationObserver(registry), server);
    }

    /** What a migration reports to. */
    MigrationObserver migrationObserver() {
        return migrations;
    }

    /** Whether metrics are served. */
    boolean isServing() {
        return server != null;
    }

    /** What the tunnel reports to. */
    SessionListener listener() {
        return listener;
    }

    @Override
    public void close() {
        if (server != null) {
            server.disposeNow(Duration.ofSeconds(5));
        }
    }
}
