package io.migtunnel.examples;

import io.migtunnel.metrics.MetricsServer;
import io.migtunnel.metrics.MicrometerNbdRecorder;
import io.migtunnel.metrics.MicrometerSessionListener;
import io.migtunnel.mux.SessionListener;
import io.migtunnel.qemu.nbd.NbdAwareness;
import io.migtunnel.transport.Tunnel;
import io.migtunnel.transport.TunnelDestination;
import io.migtunnel.transport.TunnelSource;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;

/**
 * A destination and a source in one service, joined over loopback TCP: connections to
 * {@code exposed} reach {@code target} through the tunnel. Both record into the service's own
 * {@link PrometheusMeterRegistry}, served with {@code /health} by {@link MetricsServer}.
 *
 * <p>Both ends share one registry and one {@link MicrometerSessionListener}, so each byte is counted
 * at both ends ({@code direction="sent"} sums what the source and the destination sent) and
 * {@code migtunnel_sessions_active} is 2. NBD decoding ({@link NbdAwareness}, streams named
 * {@code nbd...}) is attached to the source only, the side QEMU's NBD client connects to, so each
 * request is counted once.
 *
 * <pre>{@code java io.migtunnel.examples.EmbeddedTunnelApplication nbd/disk0 /run/qemu-nbd.sock /run/exposed.sock 9464}</pre>
 */
public final class EmbeddedTunnelApplication implements AutoCloseable {
    private final DisposableServer http;
    private final Tunnel destination;
    private final Tunnel source;

    private EmbeddedTunnelApplication(DisposableServer http, Tunnel destination, Tunnel source) {
        this.http = http;
        this.destination = destination;
        this.source = source;
    }

    /** Starts the metrics server, the destination routing {@code route} to {@code target}, then the source. */
    public static Mono<EmbeddedTunnelApplication> start(String route, Path target, Path exposed,
                                                        InetSocketAddress metrics, PrometheusMeterRegistry registry) {
        MicrometerSessionListener meters = new MicrometerSessionListener(registry);
        NbdAwareness nbd = new NbdAwareness(name -> name.startsWith("nbd"),
            disk -> new MicrometerNbdRecorder(registry, disk));
        return MetricsServer.start(metrics, registry, meters::health).flatMap(http -> TunnelDestination.create()
            .listen(new InetSocketAddress("127.0.0.1", 0)).route(route, target).listener(meters).bind()
            .flatMap(dst -> TunnelSource.create()
                .connect(new InetSocketAddress("127.0.0.1", dst.address().getPort())).expose(route, exposed)
                .listener(SessionListener.all(meters, nbd)).start()
                .map(src -> new EmbeddedTunnelApplication(http, dst, src))
                .doOnError(e -> dst.dispose()))
            .doOnError(e -> http.disposeNow()));
    }

    /** The port {@code /metrics} and {@code /health} are served on. */
    public int metricsPort() {
        return http.port();
    }

    /** Completes when the source's session ends (an error says why). */
    public Mono<Void> onClose() {
        return source.onClose();
    }

    @Override
    public void close() {
        source.dispose();
        destination.dispose();
        http.disposeNow(Duration.ofSeconds(5));
    }

    /** Arguments: {@code ROUTE TARGET_SOCKET EXPOSED_SOCKET [METRICS_PORT]} (default 9464, on 127.0.0.1). */
    public static void main(String[] args) {
        if (args.length < 3 || args.length > 4) {
            System.err.println("usage: EmbeddedTunnelApplication ROUTE TARGET_SOCKET EXPOSED_SOCKET [METRICS_PORT]");
            System.exit(2);
        }
        int port = args.length == 4 ? Integer.parseInt(args[3]) : 9464;
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        EmbeddedTunnelApplication app = start(args[0], Path.of(args[1]), Path.of(args[2]),
            new InetSocketAddress("127.0.0.1", port), registry).block(Duration.ofSeconds(30));
        Runtime.getRuntime().addShutdownHook(new Thread(app::close, "shutdown"));
        System.out.printf("%s -> %s; metrics on http://127.0.0.1:%d/metrics%n", args[2], args[1], app.metricsPort());
        app.onClose().onErrorComplete().block();
    }
}
