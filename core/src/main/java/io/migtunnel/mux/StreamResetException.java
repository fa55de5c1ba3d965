package io.migtunnel.mux;

import io.migtunnel.protocol.ErrorCode;

/** A stream ended by a RESET, sent or received, or by the end of its session. */
public final class StreamResetException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final long code;
    private final boolean byPeer;

    public StreamResetException(long code, String message, boolean byPeer) {
        super(message, null, false, false);
        this.code = code;
        this.byPeer = byPeer;
    }

    /** The error code as on the wire. */
    public long code() {
        return code;
    }

    /** Whether the peer reset the stream (rather than this side). */
    public boolean byPeer() {
        return byPeer;
    }

    @Override
    public String getMessage() {
        return (byPeer ? "reset by peer: " : "reset: ") + ErrorCode.describe(code) + ": " + super.getMessage();
    }
}
