package io.migtunnel.protocol;

/**
 * A peer broke the protocol; the session answers with GOAWAY carrying {@link #code()} and closes.
 */
public final class ProtocolException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final ErrorCode code;

    public ProtocolException(ErrorCode code, String message) {
        super(message, null, false, false);
        this.code = code;
    }

    /** The GOAWAY code that answers this violation. */
    public ErrorCode code() {
        return code;
    }

    @Override
    public String getMessage() {
        return code + ": " + super.getMessage();
    }
}
