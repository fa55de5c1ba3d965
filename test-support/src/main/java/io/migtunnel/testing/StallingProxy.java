package io.migtunnel.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP proxy on loopback that can turn into a black hole: {@link #stall()} stops it forwarding
 * in both directions without closing anything (as a dead router or a full firewall state table
 * does), and {@link #flow()} lets bytes move again. Connections accepted while it is stalled wait
 * too. One thread per direction per connection; {@link #close()} ends everything.
 */
public final class StallingProxy implements AutoCloseable {
    private final ServerSocket listener;
    private final InetSocketAddress target;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final Object gate = new Object();
    private final AtomicLong accepted = new AtomicLong();
    private volatile boolean stalled;
    private volatile boolean closed;

    /** Listens on an ephemeral loopback port and forwards to {@code target}. */
    public StallingProxy(InetSocketAddress target) throws IOException {
        this.target = target;
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::acceptLoop, "stalling-proxy-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** Where to connect to go through the proxy. */
    public InetSocketAddress address() {
        return new InetSocketAddress(listener.getInetAddress(), listener.getLocalPort());
    }

    /** Connections accepted so far. */
    public long accepted() {
        return accepted.get();
    }

    /** Stops forwarding, both ways, on every connection; nothing is closed. */
    public void stall() {
        stalled = true;
    }

    /** Forwards again. */
    public void flow() {
        synchronized (gate) {
            stalled = false;
            gate.notifyAll();
        }
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket client = listener.accept();
                accepted.incrementAndGet();
                sockets.add(client);
                Thread t = new Thread(() -> connect(client), "stalling-proxy-connect");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void connect(Socket client) {
        try {
            awaitFlow();
            Socket server = new Socket(target.getAddress(), target.getPort());
            sockets.add(server);
            pump(client, server, "up");
            pump(server, client, "down");
        } catch (IOException | InterruptedException e) {
            closeQuietly(client);
        }
    }

    private void pump(Socket from, Socket to, String name) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[64 * 1024];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while (true) {
                    awaitFlow();
                    if ((n = in.read(buf)) < 0) {
                        break;
                    }
                    awaitFlow(); // bytes read just before a stall wait with the rest
                    out.write(buf, 0, n);
                }
                to.shutdownOutput();
            } catch (IOException | InterruptedException e) {
                closeQuietly(from);
                closeQuietly(to);
            }
        }, "stalling-proxy-" + name);
        t.setDaemon(true);
        t.start();
    }

    private void awaitFlow() throws InterruptedException {
        synchronized (gate) {
            while (stalled && !closed) {
                gate.wait();
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(listener);
        sockets.forEach(StallingProxy::closeQuietly);
        flow();
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            // closing anyway
        }
    }
}
