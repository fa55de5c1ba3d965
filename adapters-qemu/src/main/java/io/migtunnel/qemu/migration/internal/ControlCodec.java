package io.migtunnel.qemu.migration.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.migtunnel.qemu.migration.internal.ControlMessage.Abort;
import io.migtunnel.qemu.migration.internal.ControlMessage.ErrorReply;
import io.migtunnel.qemu.migration.internal.ControlMessage.Failed;
import io.migtunnel.qemu.migration.internal.ControlMessage.Finish;
import io.migtunnel.qemu.migration.internal.ControlMessage.OkReply;
import io.migtunnel.qemu.migration.internal.ControlMessage.Prepare;
import io.migtunnel.qemu.migration.internal.ControlMessage.Request;
import java.util.stream.Collectors;

/**
 * Maps {@link ControlMessage}s to their JSON lines and back (the framing is {@link JsonLines}).
 * Reading is strict about types (no {@code "true"} for {@code true}): a message that does not fit
 * its record, or whose {@code op} or {@code event} is unknown, is a {@link MalformedMessage}
 * naming the cause.
 */
final class ControlCodec {
    private static final ObjectMapper MAPPER = JsonMapper.builder()
        .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS) // Aborted is {}
        .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
        .build();

    private ControlCodec() {
    }

    /** {@code message}'s line, newline included. */
    static byte[] encode(ControlMessage message) {
        return JsonLines.encode(MAPPER.valueToTree(message));
    }

    /**
     * An {@link OkReply} to request {@code id} carrying {@code body}, as its line reads back (a
     * number is then the smallest node that holds it, as on the receiving side).
     */
    static OkReply ok(long id, Object body) {
        try {
            return new OkReply(id, MAPPER.readTree(MAPPER.writeValueAsBytes(body)));
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("cannot encode " + body, e);
        }
    }

    /** A line the destination received: the request its {@code op} names. */
    static Request<?> request(JsonNode line) {
        String op = line.path("op").asText();
        Class<? extends Request<?>> type = switch (op) {
            case Prepare.OP -> Prepare.class;
            case Finish.OP -> Finish.class;
            case Abort.OP -> Abort.class;
            default -> throw new MalformedMessage("unknown control operation '" + op + "'");
        };
        return read(line, type, "'" + op + "' request");
    }

    /** A line the source received: a {@link Failed} event if it has an {@code event}, else an error or ok reply. */
    static ControlMessage fromDestination(JsonNode line) {
        if (line.has("event")) {
            String event = line.path("event").asText();
            if (!event.equals(Failed.EVENT)) {
                throw new MalformedMessage("unknown control event '" + event + "'");
            }
            return read(line, Failed.class, "'" + event + "' event");
        }
        if (line.has("error")) {
            return read(line, ErrorReply.class, "error reply");
        }
        return read(line, OkReply.class, "reply");
    }

    /** The answer in {@code reply} as {@code type}; a missing answer reads as {@code {}}. */
    static <T> T body(OkReply reply, Class<T> type) {
        JsonNode ok = reply.ok() == null || reply.ok().isNull() ? MAPPER.createObjectNode() : reply.ok();
        return read(ok, type, "answer (" + type.getSimpleName() + ")");
    }

    private static <T> T read(JsonNode node, Class<T> type, String what) {
        try {
            return MAPPER.treeToValue(node, type);
        } catch (JsonProcessingException | IllegalArgumentException e) {
            throw new MalformedMessage("malformed " + what + ": " + cause(e));
        }
    }

    /** Jackson's reason, with the field it is about but without its class names. */
    private static String cause(Exception e) {
        if (e instanceof JsonMappingException m) {
            String field = m.getPath().stream().map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
                .collect(Collectors.joining("."));
            String why = m.getOriginalMessage();
            return field.isEmpty() ? why : "field '" + field + "': " + why;
        }
        return e.getMessage();
    }

    /** A line that is JSON but not a control message we know; the message names the cause. */
    static final class MalformedMessage extends IllegalArgumentException {
        MalformedMessage(String message) {
            super(message);
        }
    }
}
