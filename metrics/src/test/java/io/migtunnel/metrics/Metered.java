package io.migtunnel.metrics;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetSocketAddress;
import java.time.Duration;
import reactor.netty.DisposableServer;

/** One endpoint's metrics for tests: a Prometheus registry, the listener and its HTTP server. */
final class Metered implements AutoCloseable {
    final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    final MicrometerSessionListener listener = new MicrometerSessionListener(registry);
    final DisposableServer http;
    final Scraper scraper;

    Metered() {
        http = MetricsServer.start(new InetSocketAddress("127.0.0.1", 0), registry, listener::health)
            .block(Duration.ofSeconds(10));
        scraper = new Scraper(http);
    }

    @Override
    public void close() {
        http.disposeNow(Duration.ofSeconds(5));
        registry.close();
    }
}
