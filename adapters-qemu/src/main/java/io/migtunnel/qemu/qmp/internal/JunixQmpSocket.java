package io.migtunnel.qemu.qmp.internal;

import java.io.FileDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import org.newsclub.net.unix.AFSocket;
import org.newsclub.net.unix.AFSocketCapability;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;

/** A junixsocket {@link AFUNIXSocket}: the only kind that can pass file descriptors. */
final class JunixQmpSocket implements QmpSocket {

    private final AFUNIXSocket socket;
    private final InputStream in;
    private final OutputStream out;

    private JunixQmpSocket(AFUNIXSocket socket) throws IOException {
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    /** Whether junixsocket's native library loaded on this machine. */
    static boolean isAvailable() {
        try {
            return AFUNIXSocket.isSupported();
        } catch (LinkageError e) {
            return false;
        }
    }

    static JunixQmpSocket connect(Path path) throws IOException {
        AFUNIXSocket socket = AFUNIXSocket.newInstance();
        try {
            socket.connect(AFUNIXSocketAddress.of(path));
            return new JunixQmpSocket(socket);
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    @Override
    public InputStream input() {
        return in;
    }

    @Override
    public void write(byte[] message, FileDescriptor fd) throws IOException {
        if (fd == null) {
            out.write(message);
            return;
        }
        socket.setOutboundFileDescriptors(fd);
        try {
            out.write(message);
        } finally {
            socket.setOutboundFileDescriptors();
        }
    }

    @Override
    public boolean canPassFileDescriptors() {
        return AFSocket.supports(AFSocketCapability.CAPABILITY_FILE_DESCRIPTORS);
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // nothing left to do
        }
    }
}
