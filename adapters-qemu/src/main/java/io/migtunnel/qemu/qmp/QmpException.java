package io.migtunnel.qemu.qmp;

/**
 * A failed QMP command. When QEMU answered with an {@code error} reply, {@link #errorClass()}
 * and {@link #description()} carry QEMU's {@code class} and {@code desc}; subclasses describe
 * failures without a reply ({@link QmpTimeoutException}, {@link QmpDisconnectedException}).
 */
public class QmpException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final String command;
    private final String errorClass;
    private final String description;

    /** An {@code error} reply from QEMU to {@code command}. */
    public QmpException(String command, String errorClass, String description) {
        super("QMP " + command + " failed: " + errorClass + ": " + description);
        this.command = command;
        this.errorClass = errorClass;
        this.description = description;
    }

    /** A failure without an error reply (connecting, timeout, disconnect). */
    public QmpException(String command, String message, Throwable cause) {
        super(message, cause);
        this.command = command;
        this.errorClass = null;
        this.description = null;
    }

    /** The command that failed, e.g. {@code drive-mirror}. */
    public String command() {
        return command;
    }

    /** QEMU's error class, e.g. {@code GenericError} or {@code CommandNotFound}; null without an error reply. */
    public String errorClass() {
        return errorClass;
    }

    /** QEMU's human-readable error description; null without an error reply. */
    public String description() {
        return description;
    }

    /** Whether this failure is QEMU's {@code error} reply (rather than a timeout or disconnect). */
    public boolean isErrorReply() {
        return errorClass != null;
    }
}
