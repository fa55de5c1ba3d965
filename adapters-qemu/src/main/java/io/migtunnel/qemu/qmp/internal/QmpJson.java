package io.migtunnel.qemu.qmp.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.migtunnel.qemu.qmp.QmpEvent;
import io.migtunnel.qemu.qmp.QmpGreeting;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** QMP's JSON: encoding commands, reading the message stream, decoding greeting and events. */
final class QmpJson {

    /** Largest single message accepted from QEMU; a bigger one is a protocol error. */
    static final long MAX_MESSAGE_BYTES = 64L << 20;

    static final ObjectMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxDocumentLength(MAX_MESSAGE_BYTES).build())
            .build()).build();

    private QmpJson() {}

    /** {@code {"execute": command, "arguments": {...}, "id": id}} and a newline, as UTF-8. */
    static byte[] command(String command, Map<String, ?> arguments, long id) throws IOException {
        ObjectNode msg = MAPPER.createObjectNode();
        msg.put("execute", command);
        if (arguments != null && !arguments.isEmpty()) {
            msg.set("arguments", MAPPER.valueToTree(arguments));
        }
        msg.put("id", id);
        byte[] json = MAPPER.writeValueAsBytes(msg);
        byte[] line = new byte[json.length + 1];
        System.arraycopy(json, 0, line, 0, json.length);
        line[json.length] = '\n';
        return line;
    }

    /**
     * A parser over the stream of messages: top-level JSON objects separated by any whitespace
     * (QEMU writes one per line, ending in CRLF or LF).
     */
    static JsonParser parser(InputStream in) throws IOException {
        return MAPPER.getFactory().createParser(in);
    }

    /** Decodes {@code {"QMP": {"version": {"qemu": {...}, "package": ...}, "capabilities": [...]}}}. */
    static QmpGreeting greeting(JsonNode msg) throws IOException {
        JsonNode qmp = msg.path("QMP");
        JsonNode qemu = qmp.path("version").path("qemu");
        if (!qemu.path("major").isInt()) {
            throw new IOException("QMP greeting without a QEMU version: " + abbreviate(msg));
        }
        List<String> capabilities = new ArrayList<>();
        qmp.path("capabilities").forEach(c -> capabilities.add(c.asText()));
        return new QmpGreeting(qemu.path("major").asInt(), qemu.path("minor").asInt(), qemu.path("micro").asInt(),
                qmp.path("version").path("package").asText(""), capabilities);
    }

    /** Decodes {@code {"event": NAME, "data": {...}, "timestamp": {"seconds": s, "microseconds": us}}}. */
    static QmpEvent event(JsonNode msg) {
        JsonNode data = msg.get("data");
        JsonNode ts = msg.path("timestamp");
        Instant timestamp = Instant.ofEpochSecond(ts.path("seconds").asLong(), ts.path("microseconds").asLong() * 1000);
        return new QmpEvent(msg.path("event").asText(), data != null ? data : MAPPER.createObjectNode(), timestamp);
    }

    /** The message as text, cut to a length fit for a log line or an exception message. */
    static String abbreviate(JsonNode msg) {
        String text = msg.toString();
        return text.length() <= 300 ? text : text.substring(0, 300) + "...";
    }
}
