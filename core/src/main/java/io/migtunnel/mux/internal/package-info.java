/**
 * The multiplexer's implementation: the session engine, per-stream state, the frame writer and
 * flow control. Exported only to the transport module, which feeds it frames.
 */
package io.migtunnel.mux.internal;
