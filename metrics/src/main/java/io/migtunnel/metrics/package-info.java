/**
 * Micrometer metrics for migtunnel sessions ({@link io.migtunnel.metrics.MicrometerSessionListener})
 * and an HTTP endpoint serving them in Prometheus text format with a health check
 * ({@link io.migtunnel.metrics.MetricsServer}). The meters are listed in {@link io.migtunnel.metrics.TunnelMeters}.
 */
package io.migtunnel.metrics;
