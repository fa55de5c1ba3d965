package io.migtunnel.qemu.migration.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.migtunnel.qemu.migration.internal.ControlMessage.Abort;
import io.migtunnel.qemu.migration.internal.ControlMessage.Aborted;
import io.migtunnel.qemu.migration.internal.ControlMessage.ErrorReply;
import io.migtunnel.qemu.migration.internal.ControlMessage.Failed;
import io.migtunnel.qemu.migration.internal.ControlMessage.Finish;
import io.migtunnel.qemu.migration.internal.ControlMessage.Finished;
import io.migtunnel.qemu.migration.internal.ControlMessage.OkReply;
import io.migtunnel.qemu.migration.internal.ControlMessage.Prepare;
import io.migtunnel.qemu.migration.internal.ControlMessage.Prepared;
import io.migtunnel.qemu.migration.internal.ControlMessage.Request;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The control stream's lines, byte for byte (docs/PROTOCOL.md section 12): every message encodes
 * to its golden line and that line decodes back to it; unknown and malformed lines are refused
 * naming the cause. The golden lines are what the code emitted before the messages were records.
 */
class GoldenControlLinesTest {
    private static final Prepare PREPARE = new Prepare("web1",
        List.of(new Prepare.Disk("disk0", 34359738368L, "nbd/disk0")), capabilities(true, false),
        new Prepare.Parameters(4, null), 1);

    /** A message and its line (without the newline). */
    private record Golden(ControlMessage message, String line) {
    }

    private static final List<Golden> REQUESTS = List.of(
        new Golden(PREPARE, "{\"vm\":\"web1\",\"disks\":[{\"id\":\"disk0\",\"size\":34359738368,\"stream\":\"nbd/disk0\"}],"
            + "\"capabilities\":{\"events\":true,\"multifd\":true,\"postcopy-ram\":false},"
            + "\"parameters\":{\"multifd-channels\":4},\"id\":1,\"op\":\"prepare\"}"),
        new Golden(new Prepare("web1", List.of(new Prepare.Disk("disk0", 34359738368L, "nbd/disk0")),
            capabilities(false, true), new Prepare.Parameters(null, null), 2),
            "{\"vm\":\"web1\",\"disks\":[{\"id\":\"disk0\",\"size\":34359738368,\"stream\":\"nbd/disk0\"}],"
                + "\"capabilities\":{\"events\":true,\"multifd\":false,\"postcopy-ram\":true},"
                + "\"parameters\":{},\"id\":2,\"op\":\"prepare\"}"),
        new Golden(new Prepare("web1", List.of(), capabilities(true, false), new Prepare.Parameters(4, "zstd"), 2),
            "{\"vm\":\"web1\",\"disks\":[],\"capabilities\":{\"events\":true,\"multifd\":true,\"postcopy-ram\":false},"
                + "\"parameters\":{\"multifd-channels\":4,\"multifd-compression\":\"zstd\"},\"id\":2,\"op\":\"prepare\"}"),
        new Golden(new Finish(true, 3), "{\"resume\":true,\"id\":3,\"op\":\"finish\"}"),
        new Golden(new Finish(false, 3), "{\"resume\":false,\"id\":3,\"op\":\"finish\"}"),
        new Golden(new Abort("interrupted by SIGINT", 4), "{\"reason\":\"interrupted by SIGINT\",\"id\":4,\"op\":\"abort\"}"));

    private static final List<Golden> FROM_DESTINATION = List.of(
        new Golden(ControlCodec.ok(1, new Prepared(List.of("disk0"))), "{\"id\":1,\"ok\":{\"disks\":[\"disk0\"]}}"),
        new Golden(ControlCodec.ok(3, new Finished("running", null)), "{\"id\":3,\"ok\":{\"status\":\"running\"}}"),
        new Golden(ControlCodec.ok(3, new Finished("running", 412L)),
            "{\"id\":3,\"ok\":{\"status\":\"running\",\"postcopy-blocktime\":412}}"),
        new Golden(ControlCodec.ok(4, new Aborted()), "{\"id\":4,\"ok\":{}}"),
        new Golden(new ErrorReply(1, "refused before copying anything: disk 'disk1' does not exist"),
            "{\"id\":1,\"error\":\"refused before copying anything: disk 'disk1' does not exist\"}"),
        new Golden(new Failed("the destination QEMU closed its QMP connection (did it exit?)"),
            "{\"event\":\"failed\",\"reason\":\"the destination QEMU closed its QMP connection (did it exit?)\"}"));

    private static Map<String, Boolean> capabilities(boolean multifd, boolean postcopy) {
        Map<String, Boolean> caps = new LinkedHashMap<>();
        caps.put("events", true);
        caps.put("multifd", multifd);
        caps.put("postcopy-ram", postcopy);
        return caps;
    }

    private static JsonNode json(String line) throws Exception {
        return JsonLines.MAPPER.readTree(line);
    }

    @Test
    void everyMessageEncodesToItsGoldenLine() {
        for (Golden g : concat()) {
            assertThat(new String(ControlCodec.encode(g.message()), StandardCharsets.UTF_8)).as(g.line())
                .isEqualTo(g.line() + "\n");
        }
    }

    @Test
    void everyGoldenLineDecodesToItsMessage() throws Exception {
        for (Golden g : REQUESTS) {
            assertThat(ControlCodec.request(json(g.line()))).as(g.line()).isEqualTo(g.message());
        }
        for (Golden g : FROM_DESTINATION) {
            assertThat(ControlCodec.fromDestination(json(g.line()))).as(g.line()).isEqualTo(g.message());
        }
    }

    @Test
    void repliesCarryTheAnswerTheirRequestExpects() throws Exception {
        OkReply prepared = (OkReply) ControlCodec.fromDestination(json("{\"id\":1,\"ok\":{\"disks\":[\"disk0\"]}}"));
        assertThat(ControlCodec.body(prepared, PREPARE.replyType())).isEqualTo(new Prepared(List.of("disk0")));
        OkReply bare = (OkReply) ControlCodec.fromDestination(json("{\"id\":2}"));
        assertThat(ControlCodec.body(bare, Finished.class)).as("no answer: nothing known").isEqualTo(new Finished(null, null));
        Request<?> numbered = new Finish(true, 0).withId(7);
        assertThat(numbered).isEqualTo(new Finish(true, 7));
    }

    @Test
    void fieldsLeftOutTakeTheirDefaultsAndUnknownFieldsAreIgnored() throws Exception {
        assertThat(ControlCodec.request(json("{\"op\":\"finish\"}"))).isEqualTo(new Finish(true, 0));
        assertThat(ControlCodec.request(json("{\"id\":5,\"op\":\"abort\",\"later\":1}")))
            .isEqualTo(new Abort(Abort.DEFAULT_REASON, 5));
        assertThat(ControlCodec.request(json("{\"id\":1,\"op\":\"prepare\",\"vm\":\"dst\"}")))
            .isEqualTo(new Prepare("dst", List.of(), Map.of(), new Prepare.Parameters(null, null), 1));
        assertThat(ControlCodec.fromDestination(json("{\"event\":\"failed\"}"))).isEqualTo(new Failed(Failed.DEFAULT_REASON));
    }

    @Test
    void unknownOperationsAndEventsAreRefusedByName() {
        assertThatThrownBy(() -> ControlCodec.request(json("{\"id\":1,\"op\":\"resize\"}")))
            .isInstanceOf(ControlCodec.MalformedMessage.class).hasMessage("unknown control operation 'resize'");
        assertThatThrownBy(() -> ControlCodec.request(json("{\"id\":1}")))
            .hasMessage("unknown control operation ''");
        assertThatThrownBy(() -> ControlCodec.fromDestination(json("{\"event\":\"paused\"}")))
            .hasMessage("unknown control event 'paused'");
    }

    @Test
    void aFieldOfTheWrongTypeIsRefusedNamingTheField() {
        assertThatThrownBy(() -> ControlCodec.request(json("{\"id\":2,\"op\":\"finish\",\"resume\":\"yes\"}")))
            .isInstanceOf(ControlCodec.MalformedMessage.class)
            .hasMessageStartingWith("malformed 'finish' request: field 'resume': ");
        assertThatThrownBy(() -> ControlCodec.request(json("{\"id\":1,\"op\":\"prepare\",\"disks\":[{\"id\":\"d\","
                + "\"size\":\"big\"}]}")))
            .hasMessageStartingWith("malformed 'prepare' request: field 'disks.[0].size': ");
        assertThatThrownBy(() -> ControlCodec.request(json("{\"id\":1,\"op\":\"prepare\","
                + "\"parameters\":{\"multifd-channels\":\"4\"}}")))
            .hasMessageStartingWith("malformed 'prepare' request: field 'parameters.multifd-channels': ");
        assertThatThrownBy(() -> ControlCodec.fromDestination(json("{\"id\":1,\"error\":{\"why\":1}}")))
            .hasMessageStartingWith("malformed error reply: field 'error': ");
    }

    private static List<Golden> concat() {
        List<Golden> all = new java.util.ArrayList<>(REQUESTS);
        all.addAll(FROM_DESTINATION);
        return all;
    }
}
