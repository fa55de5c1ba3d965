package io.migtunnel.transport.it;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * In-JVM UNIX-socket server used as a relay target: either echoes every byte back until the
 * client's EOF (reading and writing independently), or sends a greeting and closes. Counts
 * connections and client EOFs.
 */
final class UnixTestServer implements AutoCloseable {

    enum Behaviour { ECHO, GREET_AND_CLOSE }

    static final String GREETING = "hello from target\n";

    private final ServerSocketChannel server;
    private final Behaviour behaviour;
    private final AtomicInteger accepted = new AtomicInteger();
    private final AtomicInteger clientEofs = new AtomicInteger();
    private final List<SocketChannel> connections = new CopyOnWriteArrayList<>();
    /** First byte each connection sent, indexed by accept order (-1 until it arrives). */
    private final List<AtomicInteger> firstBytes = new CopyOnWriteArrayList<>();
    private final Thread acceptor;

    private UnixTestServer(ServerSocketChannel server, Behaviour behaviour) {
        this.server = server;
        this.behaviour = behaviour;
        this.acceptor = new Thread(this::acceptLoop, "unix-test-server");
        this.acceptor.setDaemon(true);
    }

    static UnixTestServer start(Path socket, Behaviour behaviour) throws IOException {
        Files.deleteIfExists(socket);
        ServerSocketChannel ssc = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        ssc.bind(UnixDomainSocketAddress.of(socket));
        UnixTestServer s = new UnixTestServer(ssc, behaviour);
        s.acceptor.start();
        return s;
    }

    int accepted() {
        return accepted.get();
    }

    int clientEofs() {
        return clientEofs.get();
    }

    /** First byte of every accepted connection, in accept order; -1 where none arrived yet. */
    List<Integer> firstBytesInAcceptOrder() {
        return firstBytes.stream().map(AtomicInteger::get).toList();
    }

    private void acceptLoop() {
        try {
            while (true) {
                SocketChannel ch = server.accept();
                accepted.incrementAndGet();
                connections.add(ch);
                AtomicInteger firstByte = new AtomicInteger(-1);
                firstBytes.add(firstByte);
                Thread t = new Thread(() -> serve(ch, firstByte), "unix-test-conn");
                t.setDaemon(true);
                t.start();
            }
        } catch (IOException closed) {
            // server closed
        }
    }

    private void serve(SocketChannel ch, AtomicInteger firstByte) {
        try (ch) {
            if (behaviour == Behaviour.GREET_AND_CLOSE) {
                ByteBuffer hello = ByteBuffer.wrap(GREETING.getBytes(StandardCharsets.US_ASCII));
                while (hello.hasRemaining()) {
                    ch.write(hello);
                }
                return;
            }
            // Reading never waits for writing (queue in between), so a relay that stops reading one
            // direction while it is blocked writing the other (as socat does) cannot deadlock here.
            BlockingQueue<byte[]> pendingEcho = new LinkedBlockingQueue<>();
            Thread writer = new Thread(() -> {
                try {
                    for (byte[] chunk; (chunk = pendingEcho.take()).length > 0; ) {
                        ByteBuffer out = ByteBuffer.wrap(chunk);
                        while (out.hasRemaining()) {
                            ch.write(out);
                        }
                    }
                } catch (IOException | InterruptedException ignored) {
                    // connection torn down
                }
            }, "unix-test-echo-writer");
            writer.setDaemon(true);
            writer.start();
            ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
            while (ch.read(buf) >= 0) {
                if (buf.position() > 0) {
                    firstByte.compareAndSet(-1, buf.get(0) & 0xff);
                    pendingEcho.add(Arrays.copyOf(buf.array(), buf.position()));
                }
                buf.clear();
            }
            pendingEcho.add(new byte[0]);
            writer.join();
            clientEofs.incrementAndGet();
        } catch (IOException | InterruptedException ignored) {
            // connection torn down
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (SocketChannel c : connections) {
            c.close();
        }
    }
}
