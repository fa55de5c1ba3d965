package io.migtunnel.qemu.migration.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import reactor.core.publisher.Flux;

/** The control stream's framing: one JSON object per line, UTF-8 (the messages: {@link ControlCodec}). */
public final class JsonLines {
    /** Longest line accepted; a longer one fails the stream. */
    public static final int MAX_LINE_BYTES = 1 << 20;
    static final ObjectMapper MAPPER = new ObjectMapper();

    private JsonLines() {
    }

    /** One line: the object's JSON and a newline. */
    public static byte[] encode(JsonNode message) {
        try {
            byte[] json = MAPPER.writeValueAsBytes(message);
            byte[] line = new byte[json.length + 1];
            System.arraycopy(json, 0, line, 0, json.length);
            line[json.length] = '\n';
            return line;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The objects in {@code in}, which may split lines anywhere; every buffer is released. Fails on
     * a line that is not a JSON object or is longer than {@link #MAX_LINE_BYTES}.
     */
    public static Flux<JsonNode> decode(Flux<ByteBuf> in) {
        return Flux.defer(() -> {
            ByteArrayOutputStream pending = new ByteArrayOutputStream();
            // hide(): no fusion, so buffers queued when a line fails are discarded (released), not dropped.
            return in.hide().concatMapIterable(buf -> {
                try {
                    return split(buf, pending);
                } finally {
                    buf.release();
                }
            }, 1).doOnDiscard(ByteBuf.class, ReferenceCountUtil::safeRelease);
        });
    }

    private static List<JsonNode> split(ByteBuf buf, ByteArrayOutputStream pending) {
        List<JsonNode> out = new ArrayList<>(1);
        while (buf.isReadable()) {
            int eol = buf.indexOf(buf.readerIndex(), buf.writerIndex(), (byte) '\n');
            int end = eol < 0 ? buf.writerIndex() : eol;
            int n = end - buf.readerIndex();
            if (pending.size() + n > MAX_LINE_BYTES) {
                throw new IllegalStateException("control line longer than " + MAX_LINE_BYTES + " bytes");
            }
            byte[] chunk = new byte[n];
            buf.readBytes(chunk);
            pending.writeBytes(chunk);
            if (eol < 0) {
                break;
            }
            buf.skipBytes(1);
            byte[] line = pending.toByteArray();
            pending.reset();
            if (line.length > 0) {
                out.add(parse(line));
            }
        }
        return out;
    }

    private static JsonNode parse(byte[] line) {
        try {
            JsonNode node = MAPPER.readTree(line);
            if (node == null || !node.isObject()) {
                throw new IllegalStateException("control line is not a JSON object");
            }
            return node;
        } catch (IOException e) {
            throw new IllegalStateException("control line is not JSON: " + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()), e);
        }
    }

    /** A line as a buffer for {@code MuxStream.send}. */
    public static ByteBuf buffer(byte[] line) {
        return Unpooled.wrappedBuffer(line);
    }
}
