package io.migtunnel.qemu.qmp.internal;

import java.io.FileDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;

/**
 * A connected UNIX stream socket to QEMU's QMP monitor: a blocking input stream for the reader
 * thread and whole-message writes, optionally carrying a file descriptor (SCM_RIGHTS).
 * Writes are not thread-safe; callers serialise them.
 */
interface QmpSocket {

    /**
     * System property: {@code false} forces the plain {@code java.nio} socket (no fd passing) even
     * when junixsocket's native library is available.
     */
    String NATIVE_SOCKETS_PROPERTY = "migtunnel.qmp.nativeSockets";

    /** Connects with junixsocket when its native library loads, otherwise with {@code java.nio}. */
    static QmpSocket connect(Path path) throws IOException {
        boolean wanted = !"false".equals(System.getProperty(NATIVE_SOCKETS_PROPERTY));
        return wanted && JunixQmpSocket.isAvailable() ? JunixQmpSocket.connect(path) : NioQmpSocket.connect(path);
    }

    InputStream input();

    /** Writes {@code message} in one send; {@code fd}, when not null, travels with it. */
    void write(byte[] message, FileDescriptor fd) throws IOException;

    boolean canPassFileDescriptors();

    /** Closes the socket, waking a reader blocked on {@link #input()}; never throws. */
    void close();
}
