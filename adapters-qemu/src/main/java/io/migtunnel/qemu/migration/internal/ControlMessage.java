package io.migtunnel.qemu.migration.internal;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The messages of the control stream (docs/PROTOCOL.md section 12), one JSON object a line, the
 * same records at both ends; {@link ControlCodec} maps them to and from their lines, which
 * {@code GoldenControlLinesTest} pins. Fields a peer leaves out take the defaults noted here;
 * fields it adds are ignored.
 */
sealed interface ControlMessage {

    /** Source to destination, answered in order by an {@link OkReply} of {@code R} or an {@link ErrorReply} with its id. */
    sealed interface Request<R> extends ControlMessage permits Prepare, Finish, Abort {
        /** Echoed in the reply; the source numbers its requests from 1. */
        long id();

        /** The {@code op} field: which request this is. */
        @JsonProperty("op")
        String op();

        /** This request numbered {@code id}. */
        Request<R> withId(long id);

        /** What an {@code ok} reply carries. */
        Class<R> replyType();
    }

    /**
     * Check the disks, start the NBD exports and {@code migrate-incoming}, route this session's streams.
     *
     * @param vm the VM's name (which QMP socket a {@code --qmp-dir} destination uses)
     * @param disks the disks to receive
     * @param capabilities migration capabilities, in order; only {@code events}, {@code multifd},
     *     {@code postcopy-ram} are allowed
     * @param parameters migration parameters
     */
    @JsonPropertyOrder({"vm", "disks", "capabilities", "parameters", "id", "op"})
    @JsonIgnoreProperties(value = "op", allowGetters = true, ignoreUnknown = true)
    record Prepare(String vm, List<Disk> disks, Map<String, Boolean> capabilities, Parameters parameters, long id)
        implements Request<Prepared> {
        static final String OP = "prepare";

        /** Missing lists and maps are empty. */
        public Prepare {
            disks = disks == null ? List.of() : List.copyOf(disks);
            capabilities = Collections.unmodifiableMap(capabilities == null ? Map.of() : new LinkedHashMap<>(capabilities));
            parameters = parameters == null ? new Parameters(null, null) : parameters;
        }

        @Override
        public String op() {
            return OP;
        }

        @Override
        public Prepare withId(long newId) {
            return new Prepare(vm, disks, capabilities, parameters, newId);
        }

        @Override
        public Class<Prepared> replyType() {
            return Prepared.class;
        }

        /**
         * A disk to receive.
         *
         * @param id the disk id, also the NBD export name
         * @param size its size in bytes, which the destination's disk must have
         * @param stream the tunnel stream its NBD connection comes on
         */
        @JsonPropertyOrder({"id", "size", "stream"})
        @JsonIgnoreProperties(ignoreUnknown = true)
        record Disk(String id, long size, String stream) {
        }

        /** Migration parameters; other parameters a peer sends are ignored; null when absent. */
        @JsonInclude(JsonInclude.Include.NON_NULL)
        @JsonIgnoreProperties(ignoreUnknown = true)
        @JsonPropertyOrder({"multifd-channels", "multifd-compression"})
        record Parameters(@JsonProperty("multifd-channels") Integer multifdChannels,
                          @JsonProperty("multifd-compression") String multifdCompression) {
        }
    }

    /** The answer to {@link Prepare}: the disks the destination exports. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    record Prepared(List<String> disks) {
    }

    /**
     * Wait for the incoming migration, stop the NBD server, resume the VM if {@code resume} (missing: true).
     */
    @JsonPropertyOrder({"resume", "id", "op"})
    @JsonIgnoreProperties(value = "op", allowGetters = true, ignoreUnknown = true)
    record Finish(boolean resume, long id) implements Request<Finished> {
        static final String OP = "finish";

        @JsonCreator
        static Finish of(@JsonProperty("resume") Boolean resume, @JsonProperty("id") long id) {
            return new Finish(resume == null || resume, id);
        }

        @Override
        public String op() {
            return OP;
        }

        @Override
        public Finish withId(long newId) {
            return new Finish(resume, newId);
        }

        @Override
        public Class<Finished> replyType() {
            return Finished.class;
        }
    }

    /**
     * The answer to {@link Finish}: the destination VM's status, normally {@code running}, null when
     * not given; the vCPUs' total postcopy blocktime in ms, null unless postcopy ran and measured it.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    @JsonPropertyOrder({"status", "postcopy-blocktime"})
    record Finished(String status, @JsonProperty("postcopy-blocktime") Long postcopyBlocktime) {
    }

    /** Undo what {@link Prepare} did, for {@code reason} (missing: {@value #DEFAULT_REASON}). */
    @JsonPropertyOrder({"reason", "id", "op"})
    @JsonIgnoreProperties(value = "op", allowGetters = true, ignoreUnknown = true)
    record Abort(String reason, long id) implements Request<Aborted> {
        static final String OP = "abort";
        static final String DEFAULT_REASON = "the source aborted";

        public Abort {
            reason = reason == null ? DEFAULT_REASON : reason;
        }

        @Override
        public String op() {
            return OP;
        }

        @Override
        public Abort withId(long newId) {
            return new Abort(reason, newId);
        }

        @Override
        public Class<Aborted> replyType() {
            return Aborted.class;
        }
    }

    /** The answer to {@link Abort}: nothing ({@code {}}). */
    @JsonIgnoreProperties(ignoreUnknown = true)
    record Aborted() {
    }

    /** A request succeeded; {@code ok} is its answer's JSON (null when missing), read with {@link ControlCodec#body}. */
    @JsonPropertyOrder({"id", "ok"})
    @JsonIgnoreProperties(ignoreUnknown = true)
    record OkReply(long id, JsonNode ok) implements ControlMessage {
    }

    /** A request failed, for the reason in {@code error} (phrased for the user). */
    @JsonPropertyOrder({"id", "error"})
    @JsonIgnoreProperties(ignoreUnknown = true)
    record ErrorReply(long id, String error) implements ControlMessage {
    }

    /**
     * Destination to source, unasked: the migration cannot succeed (its QEMU exited, or the incoming
     * migration failed); the source rolls back. {@code reason} missing: {@value #DEFAULT_REASON}.
     */
    @JsonPropertyOrder({"event", "reason"})
    @JsonIgnoreProperties(value = "event", allowGetters = true, ignoreUnknown = true)
    record Failed(String reason) implements ControlMessage {
        static final String EVENT = "failed";
        static final String DEFAULT_REASON = "destination failed";

        public Failed {
            reason = reason == null ? DEFAULT_REASON : reason;
        }

        /** The {@code event} field. */
        @JsonProperty("event")
        public String event() {
            return EVENT;
        }
    }
}
