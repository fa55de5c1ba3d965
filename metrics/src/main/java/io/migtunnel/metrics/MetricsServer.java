package io.migtunnel.metrics;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.function.Supplier;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

/**
 * A small HTTP server for operators: {@code GET /metrics} answers the registry's meters in the
 * Prometheus text format, {@code GET /health} answers 200 with {@code ok: N session(s) up} or 503
 * with a one-line reason.
 *
 * <pre>{@code
 * PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
 * MicrometerSessionListener metrics = new MicrometerSessionListener(registry);
 * DisposableServer http = MetricsServer.start(new InetSocketAddress("127.0.0.1", 9464), registry, metrics::health)
 *     .block();
 * }</pre>
 */
public final class MetricsServer {
    /** The Prometheus text exposition format, version 0.0.4. */
    static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
    private static final String PLAIN_TEXT = "text/plain; charset=utf-8";

    private MetricsServer() {
    }

    /**
     * Binds {@code address} (port 0 picks a free port); the Mono emits the running server, which
     * the caller disposes.
     */
    public static Mono<DisposableServer> start(InetSocketAddress address, PrometheusMeterRegistry registry,
                                               Supplier<TunnelHealth> health) {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(registry, "registry");
        Objects.requireNonNull(health, "health");
        return HttpServer.create()
            .bindAddress(() -> address)
            .route(routes -> routes
                .get("/metrics", (request, response) -> response
                    .header(HttpHeaderNames.CONTENT_TYPE, PROMETHEUS_TEXT)
                    .sendString(Mono.fromCallable(registry::scrape)))
                .get("/health", (request, response) -> {
                    TunnelHealth h = health.get();
                    return response
                        .status(h.up() ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE)
                        .header(HttpHeaderNames.CONTENT_TYPE, PLAIN_TEXT)
                        .sendString(Mono.just(h.message() + "\n"));
                }))
            .bind()
            .map(server -> (DisposableServer) server);
    }
}
