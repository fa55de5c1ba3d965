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
 * A QMP relay for one client that hides commands from {@code query-commands} replies and migration
 * capabilities from {@code query-migrate-capabilities} replies, to run the code paths meant for
 * older QEMU against this one. Everything else passes unchanged.
 */
final class QmpCommandHidingProxy implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The queries filtered, and the field that names each entry of their answer. */
    private static final java.util.Map<String, String> NAMED_BY = java.util.Map.of("query-commands", "name",
        "query-migrate-capabilities", "capability");
    private final ServerSocketChannel server;
    private final Path qemu;
    private final Set<String> hidden;
    /** The ids of queries going up whose replies are filtered, and the field each entry is named by. */
    private final java.util.Map<String, String> queryIds = new ConcurrentHashMap<>();
    private final java.util.List<String> executed = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final Thread acceptor;

    /** Relays {@code listen} to {@code qemu}, hiding the commands and capabilities named in {@code hidden}. */
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
        String named = NAMED_BY.get(msg.path("execute").asText());
        if (towardsQemu && named != null) {
            queryIds.put(msg.path("id").toString(), named);
        } else if (!towardsQemu && msg.has("return") && queryIds.containsKey(msg.path("id").toString())) {
            String field = queryIds.remove(msg.path("id").toString());
            ArrayNode kept = JSON.createArrayNode();
            msg.path("return").forEach(c -> {
                if (!hidden.contains(c.path(field).asText())) {
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
