/**
 * Runnable embeddings of migtunnel: {@link io.migtunnel.examples.EmbeddedTunnelApplication} runs
 * a destination and a source in one service with its own Prometheus registry and metrics endpoint.
 */
package io.migtunnel.examples;
