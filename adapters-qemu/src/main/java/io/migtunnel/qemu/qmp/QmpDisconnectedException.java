package io.migtunnel.qemu.qmp;

import java.nio.file.Path;

/**
 * The QMP connection ended (QEMU quit or crashed, the client closed it, or QEMU sent something
 * that is not QMP) before the command got its reply. Every later command fails with it too.
 */
public class QmpDisconnectedException extends QmpException {

    private static final long serialVersionUID = 1L;

    private final Path socket;

    /**
     * @param reason how the connection ended, e.g. {@code "closed by QEMU (end of stream)"}
     */
    public QmpDisconnectedException(Path socket, String command, String reason, Throwable cause) {
        super(command, "QMP " + command + " failed: connection to " + socket + " " + reason, cause);
        this.socket = socket;
    }

    /** The QMP socket whose connection ended. */
    public Path socket() {
        return socket;
    }
}
