package io.migtunnel.protocol;

/** Fixed bounds of protocol version 1 (section 1 of {@code docs/PROTOCOL.md}). */
public final class Limits {
    /** Size of the fixed frame header. */
    public static final int HEADER_LENGTH = 12;
    /** Longest stream name, in UTF-8 bytes. */
    public static final int MAX_NAME_BYTES = 255;
    /** Longest RESET or GOAWAY message, in UTF-8 bytes. */
    public static final int MAX_MESSAGE_BYTES = 1024;
    /** Smallest stream window a HELLO may announce. */
    public static final int MIN_STREAM_WINDOW = 65_536;
    /** Smallest max frame payload a HELLO may announce. */
    public static final int MIN_FRAME_PAYLOAD = 16_384;
    /** Largest max frame payload a HELLO may announce. */
    public static final int MAX_FRAME_PAYLOAD = 16 * 1024 * 1024;
    /** {@code "MGTN"}, the first four bytes of a HELLO payload. */
    public static final int MAGIC = 0x4D47544E;
    /** The protocol version this code speaks. */
    public static final int VERSION = 1;

    private Limits() {
    }
}
