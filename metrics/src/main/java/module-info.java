/** Micrometer meters for tunnels, streams, NBD and migrations, and the Prometheus endpoint. */
module io.migtunnel.metrics {
    requires transitive io.migtunnel.qemu;
    requires transitive micrometer.core;
    requires transitive micrometer.registry.prometheus;
    requires reactor.netty.http;
    requires io.netty.codec.http;
    requires org.slf4j;

    exports io.migtunnel.metrics;
}
