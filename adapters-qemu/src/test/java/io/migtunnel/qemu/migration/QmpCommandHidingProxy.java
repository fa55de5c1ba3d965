package io.migtunnel.qemu.migration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A QMP relay for one client that hides commands from {@code query-commands} replies, to run the
 * code paths meant for older QEMU against this one. Everything else passes unchanged.
 */
final class QmpCommandHidingProxy implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final ServerSocketChannel server;
    private final Path qemu;
    private final Set<String> hidden;
    private final Set<String> queryIds = ConcurrentHashMap.newKeySet();
    private final java.util.List<String> executed = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final Thread acceptor;

    QmpCommandHidingProxy(Path listen, Path qemu, Set<String> hidden) throws IOException {
        this.qemu = qemu;
        this.hidden = hidden;
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(listen));
        acceptor = new Thread(this::serve, "qmp-proxy");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    private void serve() {
        try (SocketChannel client = server.accept();
             SocketChannel upstream = SocketChannel.open(UnixDomainSocketAddress.of(qemu))) {
            Thread up = new Thread(() -> pump(client, upstream, true), "qmp-proxy-up");
            up.setDaemon(true);
            up.start();
            pump(upstream, client, false);
        } catch (IOException e) {
            // closed
        }
    }

    /**
     * Copies lines from {@code from} to {@code to}; notes query-commands ids going up, filters their
     * replies coming down. Plain channel reads and writes: JDK 17's channel streams would lock each
     * other out on one channel.
     */
    private void pump(SocketChannel from, SocketChannel to, boolean towardsQemu) {
        java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(65536);
        try {
            while (from.read(buf) >= 0) {
                buf.flip();
                while (buf.hasRemaining()) {
                    byte b = buf.get();
                    line.write(b);
                    if (b == '\n') {
                        write(to, rewrite(line.toString(StandardCharsets.UTF_8), towardsQemu));
                        line.reset();
                    }
                }
                buf.clear();
            }
        } catch (IOException e) {
            // one side closed
        } finally {
            try {
                to.shutdownOutput();
            } catch (IOException ignored) {
                // already closed
            }
        }
    }

    private String rewrite(String line, boolean towardsQemu) throws IOException {
        if (line.isBlank()) {
            return line;
        }
        JsonNode msg = JSON.readTree(line);
        if (towardsQemu) {
            executed.add(msg.path("execute").asText());
        }
        if (towardsQemu && "query-commands".equals(msg.path("execute").asText())) {
            queryIds.add(msg.path("id").toString());
        } else if (!towardsQemu && msg.has("return") && queryIds.remove(msg.path("id").toString())) {
            ArrayNode kept = JSON.createArrayNode();
            msg.path("return").forEach(c -> {
                if (!hidden.contains(c.path("name").asText())) {
                    kept.add(c);
                }
            });
            ((ObjectNode) msg).set("return", kept);
            return JSON.writeValueAsString(msg) + "\n";
        }
        return line;
    }

    private static void write(SocketChannel to, String text) throws IOException {
        java.nio.ByteBuffer out = java.nio.ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        while (out.hasRemaining()) {
            to.write(out);
        }
    }

    /** The commands the client ran, in order. */
    java.util.List<String> executed() {
        return java.util.List.copyOf(executed);
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
