package io.migtunnel.qemu.qmp;

import java.nio.file.Path;
import java.time.Duration;

/** No reply (or awaited event) arrived in time; the connection itself stays usable. */
public class QmpTimeoutException extends QmpException {

    private static final long serialVersionUID = 1L;

    public QmpTimeoutException(Path socket, String command, Duration timeout) {
        super(command, "QMP " + command + " failed: no reply within " + timeout + " on " + socket, (Throwable) null);
    }
}
