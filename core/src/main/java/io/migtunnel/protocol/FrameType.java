package io.migtunnel.protocol;

/**
 * The frame types of the wire protocol; each links to its section of {@code docs/PROTOCOL.md}.
 */
public enum FrameType {
    /** Section 3: magic, version and limits; the first frame in each direction. */
    HELLO(0x00, 20, 20, false),
    /** Section 4: opens a stream; the payload is its name. */
    OPEN(0x01, 1, Limits.MAX_NAME_BYTES, true),
    /** Section 4: the route was found and its local socket connected. */
    OPEN_OK(0x02, 0, 0, true),
    /** Section 5: stream bytes; flag {@link Frame#FLAG_FIN} ends the direction. */
    DATA(0x03, 0, Integer.MAX_VALUE, true),
    /** Section 6: consumed and limit offsets. */
    CREDIT(0x04, 16, 16, true),
    /** Section 7: error code, final offset, message. */
    RESET(0x05, 12, 12 + Limits.MAX_MESSAGE_BYTES, true),
    /** Section 8: keepalive probe with an opaque u64. */
    PING(0x06, 8, 8, false),
    /** Section 8: the echo of a PING. */
    PONG(0x07, 8, 8, false),
    /** Section 9: error code, last stream id, message. */
    GOAWAY(0x08, 8, 8 + Limits.MAX_MESSAGE_BYTES, false),
    /** Section 13.2: the server's nonce for this connection, and a session token and secret. */
    SESSION(0x09, SessionFrameCodec.LENGTH, SessionFrameCodec.LENGTH, false),
    /** Section 13.2: the client resumes a session: token, nonce, proof, stream table. */
    RESUME(0x0A, ResumeFrameCodec.FIXED + 8, ResumeFrameCodec.FIXED + ResumeTable.MAX_BYTES, false),
    /** Section 13.2: the server accepts the resume: proof, stream table. */
    RESUME_OK(0x0B, ResumeFrameCodec.PROOF_BYTES + 8, ResumeFrameCodec.PROOF_BYTES + ResumeTable.MAX_BYTES, false);

    private static final FrameType[] BY_CODE = new FrameType[12];

    static {
        for (FrameType t : values()) {
            BY_CODE[t.code] = t;
        }
    }

    private final int code;
    private final int minLength;
    private final int maxLength;
    private final boolean onStream;

    FrameType(int code, int minLength, int maxLength, boolean onStream) {
        this.code = code;
        this.minLength = minLength;
        this.maxLength = maxLength;
        this.onStream = onStream;
    }

    /** The type byte on the wire. */
    public int code() {
        return code;
    }

    /** Whether frames of this type name a stream (id ≠ 0) rather than the connection (id 0). */
    public boolean onStream() {
        return onStream;
    }

    /** Whether {@code length} is allowed for this type, given the receiver's max DATA payload. */
    public boolean allowsLength(long length, int maxDataPayload) {
        long max = this == DATA ? maxDataPayload : maxLength;
        return length >= minLength && length <= max;
    }

    /** The type for a wire code, or {@code null} when the code is unknown. */
    public static FrameType fromCode(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
