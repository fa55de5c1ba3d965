package io.migtunnel.transport;

import io.migtunnel.mux.MuxStream;

/**
 * Serves streams of one name inside the destination process instead of dialling a UNIX socket,
 * e.g. a control channel. Called on the session's event loop for each stream the source opens
 * with that name; must not block. The handler owns the stream: it calls
 * {@link MuxStream#accept()} (or resets it), then consumes {@link MuxStream#inbound()} and
 * answers with {@link MuxStream#send}. {@code routes} lets it route further stream names of
 * this session alone.
 */
@FunctionalInterface
public interface StreamHandler {
    void onStream(MuxStream stream, SessionRoutes routes);
}
