/**
 * The stream multiplexer's API: a {@link io.migtunnel.mux.Session} per tunnel connection, its
 * {@link io.migtunnel.mux.MuxStream}s, the limits in {@link io.migtunnel.mux.SessionConfig}, and
 * the {@link io.migtunnel.mux.SessionListener} that metrics and logging observe it through.
 */
package io.migtunnel.mux;
