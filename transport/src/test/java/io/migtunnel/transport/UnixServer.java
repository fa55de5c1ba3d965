package io.migtunnel.transport;

import io.migtunnel.testing.UnixSockets;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/** A plain blocking UNIX-socket server for tests: one thread per accepted connection. */
final class UnixServer implements AutoCloseable {
    /** What the server does with each connection; the connection is closed when it returns. */
    interface Handler {
        void handle(SocketChannel ch) throws Exception;
    }

    private final ServerSocketChannel server;
    private final Path path;
    private final List<Throwable> failures = new CopyOnWriteArrayList<>();
    private final AtomicInteger accepted = new AtomicInteger();
    private final Thread acceptor;

    private UnixServer(Path path, Handler handler) throws IOException {
        this.path = path;
        Files.deleteIfExists(path);
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(path));
        acceptor = new Thread(() -> {
            while (server.isOpen()) {
                try {
                    SocketChannel ch = server.accept();
                    accepted.incrementAndGet();
                    Thread t = new Thread(() -> {
                        try (ch) {
                            handler.handle(ch);
                        } catch (Throwable e) {
                            failures.add(e);
                        }
                    }, "unix-conn-" + path.getFileName());
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    return; // closed
                }
            }
        }, "unix-accept-" + path.getFileName());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    static UnixServer start(Path path, Handler handler) throws IOException {
        return new UnixServer(path, handler);
    }

    /** Echoes every byte; shuts down its output after reading EOF. */
    static UnixServer echo(Path path) throws IOException {
        return echo(path, 64 * 1024);
    }

    /** An echo server whose socket buffers and copy buffer are {@code bufferSize} bytes. */
    static UnixServer echo(Path path, int bufferSize) throws IOException {
        return start(path, ch -> {
            ch.setOption(java.net.StandardSocketOptions.SO_SNDBUF, bufferSize);
            ch.setOption(java.net.StandardSocketOptions.SO_RCVBUF, bufferSize);
            UnixSockets.echoUntilEof(ch, bufferSize);
        });
    }

    Path path() {
        return path;
    }

    int accepted() {
        return accepted.get();
    }

    List<Throwable> failures() {
        return failures;
    }

    @Override
    public void close() throws IOException {
        server.close();
        Files.deleteIfExists(path);
    }
}
