package io.migtunnel.mux;

/**
 * Decides what to do with a stream the peer opened: connect it (then {@link MuxStream#accept()})
 * or {@link MuxStream#reset reset} it. Called on the session's event loop; must not block.
 */
@FunctionalInterface
public interface StreamAcceptor {
    /** Refuses every stream with {@code UNKNOWN_ROUTE}: for a side that only opens streams. */
    StreamAcceptor REFUSE_ALL = stream -> stream.reset(io.migtunnel.protocol.ErrorCode.UNKNOWN_ROUTE,
        "this side accepts no streams");

    void onOpen(MuxStream stream);
}
