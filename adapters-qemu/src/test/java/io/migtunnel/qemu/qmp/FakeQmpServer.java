package io.migtunnel.qemu.qmp;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A scripted QMP server on a UNIX socket for one client: sends a greeting on accept (unless
 * silent), answers {@code qmp_capabilities} itself and queues every other request for the test,
 * which answers with {@link #send} and friends.
 */
final class FakeQmpServer implements AutoCloseable {

    static final String GREETING = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 1, \"minor\": 2, \"major\": 7},"
            + " \"package\": \"fake\"}, \"capabilities\": [\"oob\"]}}\r\n";
    private static final long WAIT_SECONDS = 10;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;
    private final ServerSocketChannel server;
    private final boolean greet;
    private final CompletableFuture<SocketChannel> client = new CompletableFuture<>();
    private final BlockingQueue<JsonNode> requests = new LinkedBlockingQueue<>();
    private final Thread thread;

    private FakeQmpServer(Path path, boolean greet) throws IOException {
        this.path = path;
        this.greet = greet;
        this.server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(path));
        this.thread = new Thread(this::serve, "fake-qmp-" + path.getFileName());
        thread.setDaemon(true);
        thread.start();
    }

    /** A server that greets like QEMU 7.2.1. */
    static FakeQmpServer start(Path path) throws IOException {
        return new FakeQmpServer(path, true);
    }

    /** A server that accepts but never says anything. */
    static FakeQmpServer silent(Path path) throws IOException {
        return new FakeQmpServer(path, false);
    }

    Path path() {
        return path;
    }

    private void serve() {
        try {
            SocketChannel ch = server.accept();
            client.complete(ch);
            if (greet) {
                write(ch, GREETING);
            }
            InputStream in = new InputStream() {
                @Override
                public int read() {
                    throw new UnsupportedOperationException();
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    return ch.read(ByteBuffer.wrap(b, off, len));
                }
            };
            try (JsonParser parser = JSON.getFactory().createParser(in)) {
                while (parser.nextToken() != null) {
                    JsonNode request = JSON.readTree(parser);
                    if (request.path("execute").asText().equals("qmp_capabilities")) {
                        write(ch, "{\"return\": {}, \"id\": " + request.get("id") + "}\r\n");
                    }
                    requests.add(request);
                }
            }
        } catch (IOException e) {
            client.completeExceptionally(e);
        }
    }

    /** The next request the client sent (including {@code qmp_capabilities}). */
    JsonNode nextRequest() {
        try {
            JsonNode r = requests.poll(WAIT_SECONDS, TimeUnit.SECONDS);
            if (r == null) {
                throw new AssertionError("no QMP request within " + WAIT_SECONDS + " s");
            }
            return r;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** The next request other than {@code qmp_capabilities}. */
    JsonNode nextCommand() {
        JsonNode r = nextRequest();
        return r.path("execute").asText().equals("qmp_capabilities") ? nextRequest() : r;
    }

    /** Sends raw text as is (no newline added). */
    void send(String raw) {
        write(connected(), raw);
    }

    void reply(JsonNode request, String returnJson) {
        send("{\"return\": " + returnJson + ", \"id\": " + request.get("id") + "}\r\n");
    }

    void replyError(JsonNode request, String errorClass, String desc) {
        send("{\"id\": " + request.get("id") + ", \"error\": {\"class\": \"" + errorClass + "\", \"desc\": \""
                + desc + "\"}}\r\n");
    }

    void event(String name, String dataJson) {
        send("{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 250000}, \"event\": \"" + name
                + "\", \"data\": " + dataJson + "}\r\n");
    }

    /** Closes the client connection (QEMU going away). */
    void disconnect() {
        try {
            connected().close();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private SocketChannel connected() {
        try {
            return client.get(WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("no QMP client connected", e);
        }
    }

    private static void write(SocketChannel ch, String text) {
        ByteBuffer buf = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        try {
            synchronized (ch) {
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Override
    public void close() throws Exception {
        server.close();
        if (client.isDone() && !client.isCompletedExceptionally()) {
            client.get().close();
        }
        thread.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
    }
}
