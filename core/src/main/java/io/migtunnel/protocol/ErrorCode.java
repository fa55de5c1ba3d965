package io.migtunnel.protocol;

/** Error codes carried by RESET and GOAWAY (section 10 of {@code docs/PROTOCOL.md}). */
public enum ErrorCode {
    NO_ERROR(0),
    PROTOCOL_ERROR(1),
    FLOW_CONTROL_ERROR(2),
    FRAME_SIZE_ERROR(3),
    UNSUPPORTED_VERSION(4),
    UNKNOWN_ROUTE(5),
    CONNECT_FAILED(6),
    LOCAL_IO_ERROR(7),
    CANCELLED(8),
    REFUSED(9),
    KEEPALIVE_TIMEOUT(10),
    INTERNAL_ERROR(11),
    /** The peer asked for more replies than it reads: the control frame limit (section 8). */
    EXCESSIVE_LOAD(12),
    /** A resumption attempt failed (section 13.3); only that connection closes. */
    RESUME_REFUSED(13);

    private final int code;

    ErrorCode(int code) {
        this.code = code;
    }

    /** The u32 value on the wire. */
    public int code() {
        return code;
    }

    /** The code for a wire value, or {@code null} when unknown. */
    public static ErrorCode fromCode(long code) {
        for (ErrorCode c : values()) {
            if (c.code == code) {
                return c;
            }
        }
        return null;
    }

    /** A printable name for any wire value, {@code UNKNOWN(n)} when the code is unknown. */
    public static String describe(long code) {
        ErrorCode c = fromCode(code);
        return c != null ? c.name() : "UNKNOWN(" + code + ")";
    }
}
