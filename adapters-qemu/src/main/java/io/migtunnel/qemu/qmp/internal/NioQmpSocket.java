package io.migtunnel.qemu.qmp.internal;

import java.io.FileDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;

/** A plain {@code java.nio} UNIX socket: the fallback without junixsocket; cannot pass fds. */
final class NioQmpSocket implements QmpSocket {

    private final SocketChannel channel;
    private final InputStream in;

    private NioQmpSocket(SocketChannel channel) {
        this.channel = channel;
        // Not Channels.newInputStream: it holds the channel's blocking lock while blocked in read.
        this.in = new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return len == 0 ? 0 : channel.read(ByteBuffer.wrap(b, off, len));
            }
        };
    }

    static NioQmpSocket connect(Path path) throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            channel.connect(UnixDomainSocketAddress.of(path));
            return new NioQmpSocket(channel);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    @Override
    public InputStream input() {
        return in;
    }

    @Override
    public void write(byte[] message, FileDescriptor fd) throws IOException {
        if (fd != null) {
            throw new IOException("file-descriptor passing needs junixsocket's native library, which is not in use"
                    + " (it did not load, or " + NATIVE_SOCKETS_PROPERTY + "=false)");
        }
        ByteBuffer buf = ByteBuffer.wrap(message);
        while (buf.hasRemaining()) {
            channel.write(buf);
        }
    }

    @Override
    public boolean canPassFileDescriptors() {
        return false;
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing left to do
        }
    }
}
