package io.migtunnel.mux;

import io.migtunnel.protocol.ErrorCode;

/** The session is closed or going away; carries the GOAWAY code and reason. */
public final class SessionClosedException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final ErrorCode code;

    public SessionClosedException(ErrorCode code, String message) {
        super(message, null, false, false);
        this.code = code;
    }

    public ErrorCode code() {
        return code;
    }

    @Override
    public String getMessage() {
        return code + ": " + super.getMessage();
    }
}
