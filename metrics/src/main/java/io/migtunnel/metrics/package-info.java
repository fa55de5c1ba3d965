/**
 * Micrometer metrics for migtunnel sessions ({@link io.migtunnel.metrics.MicrometerSessionListener})
 * and migrations ({@link io.migtunnel.metrics.MicrometerMigrationObserver}), and an HTTP endpoint
 * serving them in Prometheus text format with a health check ({@link io.migtunnel.metrics.MetricsServer}).
 * The meters are listed in {@link io.migtunnel.metrics.TunnelMeters} and {@link io.migtunnel.metrics.MigrationMeters}.
 */
package io.migtunnel.metrics;
