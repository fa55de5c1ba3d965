package io.migtunnel.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Blocking UNIX-socket helpers for tests: an echo server, a producer server, and clients that
 * echo a payload through it or read to the end.
 */
public final class UnixSockets {
    private UnixSockets() {
    }

    /** An echo server on {@code path}: echoes every byte, shuts its output after EOF. Closing it stops accepting. */
    public static ServerSocketChannel echoServer(Path path) throws IOException {
        return serve(path, "echo", UnixSockets::echo);
    }

    /** A server on {@code path} that writes {@code bytes} zero bytes to every connection, then closes it. */
    public static ServerSocketChannel producerServer(Path path, long bytes) throws IOException {
        return serve(path, "produce", ch -> produce(ch, bytes));
    }

    /** Binds {@code path} and hands every accepted connection to {@code handler} on a thread of its own. */
    private static ServerSocketChannel serve(Path path, String name, java.util.function.Consumer<SocketChannel> handler)
            throws IOException {
        Files.deleteIfExists(path);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(path));
        Thread acceptor = new Thread(() -> {
            while (server.isOpen()) {
                try {
                    SocketChannel ch = server.accept();
                    Thread t = new Thread(() -> handler.accept(ch), name + "-" + path.getFileName());
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    return; // closed
                }
            }
        }, name + "-accept-" + path.getFileName());
        acceptor.setDaemon(true);
        acceptor.start();
        return server;
    }

    private static void produce(SocketChannel ch, long bytes) {
        try (ch) {
            ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
            for (long left = bytes; left > 0; left -= buf.limit()) {
                buf.clear().limit((int) Math.min(buf.capacity(), left));
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
            }
        } catch (IOException e) {
            // the test sees the failure as missing bytes
        }
    }

    /** Reads {@code ch} until EOF; returns the number of bytes read. */
    public static long readToEnd(SocketChannel ch) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        long total = 0;
        int n;
        while ((n = ch.read(buf)) >= 0) {
            total += n;
            buf.clear();
        }
        return total;
    }

    private static void echo(SocketChannel ch) {
        try (ch) {
            echoUntilEof(ch, 64 * 1024);
        } catch (IOException e) {
            // the test sees the failure as missing bytes
        }
    }

    /** Writes back everything read from {@code ch}, {@code bufferSize} bytes at a time, then shuts its output after EOF. */
    public static void echoUntilEof(SocketChannel ch, int bufferSize) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(bufferSize);
        while (ch.read(buf) >= 0) {
            buf.flip();
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            buf.clear();
        }
        ch.shutdownOutput();
    }

    /** Connects to {@code path}, writes {@code data} then half-closes, and returns everything read until EOF. */
    public static byte[] roundTrip(Path path, byte[] data) throws Exception {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(path));
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    ByteBuffer buf = ByteBuffer.wrap(data);
                    while (buf.hasRemaining()) {
                        ch.write(buf);
                    }
                    ch.shutdownOutput();
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
            while (ch.read(buf) >= 0) {
                out.write(buf.array(), 0, buf.position());
                buf.clear();
            }
            writer.get(30, TimeUnit.SECONDS);
            return out.toByteArray();
        }
    }
}
