package io.migtunnel.transport;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.security.MessageDigest;

/** Blocking UNIX-socket client helpers for tests. */
final class UnixClient {
    private UnixClient() {
    }

    /** Sends {@code text}, half-closes, and returns everything the peer sent back until EOF. */
    static String echo(Path socket, String text) throws IOException {
        try (SocketChannel ch = connect(socket)) {
            writeAll(ch, text.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            ch.shutdownOutput();
            return new String(readToEnd(ch), java.nio.charset.StandardCharsets.US_ASCII);
        }
    }

    static SocketChannel connect(Path path) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(path));
        return ch;
    }

    static void writeAll(SocketChannel ch, byte[] data) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(data);
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    /** Reads until EOF; returns everything read. */
    static byte[] readToEnd(SocketChannel ch) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        while (ch.read(buf) >= 0) {
            out.write(buf.array(), 0, buf.position());
            buf.clear();
        }
        return out.toByteArray();
    }

    /** Reads until EOF, digesting; returns the byte count. */
    static long readToEnd(SocketChannel ch, MessageDigest digest) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(256 * 1024);
        long n = 0;
        int r;
        while ((r = ch.read(buf)) >= 0) {
            digest.update(buf.array(), 0, buf.position());
            n += r;
            buf.clear();
        }
        return n;
    }
}
