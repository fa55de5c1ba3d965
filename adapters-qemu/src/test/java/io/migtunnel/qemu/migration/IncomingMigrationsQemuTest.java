package io.migtunnel.qemu.migration;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.migtunnel.mux.MuxStream;
import io.migtunnel.qemu.migration.internal.JsonLines;
import io.migtunnel.transport.Tunnel;
import io.migtunnel.transport.TunnelSource;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Sinks;

/** The destination's control stream spoken line by line, against a real destination QEMU. */
@Tag("qemu")
@Timeout(120)
class IncomingMigrationsQemuTest {
    private static final long SIZE = 32 * MigrationRig.MiB;
    private static final Duration REPLY = Duration.ofSeconds(30);
    private static final String PREPARE = "{\"id\":%d,\"op\":\"prepare\",\"vm\":\"dst\","
        + "\"disks\":[{\"id\":\"disk0\",\"size\":" + SIZE + ",\"stream\":\"nbd/disk0\"}],"
        + "\"capabilities\":{\"events\":true,\"multifd\":false,\"postcopy-ram\":false},\"parameters\":{}}";
    @TempDir
    Path dir;
    private MigrationRig rig;
    private final List<Tunnel> tunnels = new ArrayList<>();

    @BeforeEach
    void qemu() {
        MigrationRig.assumeQemu();
    }

    @AfterEach
    void close() {
        tunnels.forEach(Tunnel::dispose);
        if (rig != null) {
            rig.close();
        }
    }

    @Test
    void aSecondPrepareIsRefusedAndLeavesTheFirstIntact() throws Exception {
        rig = new MigrationRig(dir, SIZE, MigrationRig.disks(SIZE, SIZE));
        Control control = open();
        JsonNode first = control.request(String.format(PREPARE, 1));
        assertThat(first.path("ok").path("disks").toString()).isEqualTo("[\"disk0\"]");
        assertThat(exports()).containsExactly("migtunnel-export-0");

        JsonNode second = control.request(String.format(PREPARE, 2));
        assertThat(second.path("error").asText()).isEqualTo("this control stream has already prepared a migration");
        assertThat(exports()).as("the first prepare's export").containsExactly("migtunnel-export-0");
        JsonNode elsewhere = open().request(String.format(PREPARE, 1));
        assertThat(elsewhere.path("error").asText()).as("the VM is still taken by the first prepare")
            .isEqualTo("a migration into VM 'dst' is already in progress");

        assertThat(control.request("{\"id\":3,\"op\":\"abort\",\"reason\":\"test over\"}").path("ok").isObject()).isTrue();
        assertThat(exports()).isEmpty();
    }

    private List<String> exports() {
        List<String> names = new ArrayList<>();
        rig.destination.qmp().execute("query-block-exports").block(Duration.ofSeconds(5))
            .forEach(e -> names.add(e.path("id").asText()));
        return names;
    }

    /** A control stream of its own tunnel session. */
    private Control open() {
        Tunnel t = TunnelSource.create().connect(new InetSocketAddress("127.0.0.1", rig.tunnel.address().getPort()))
            .start().block(Duration.ofSeconds(15));
        tunnels.add(t);
        MuxStream stream = t.openStream(IncomingMigrations.CONTROL_STREAM).block(Duration.ofSeconds(15));
        return new Control(stream);
    }

    /** Sends lines, and hands back the lines received. */
    private static final class Control {
        private final Sinks.Many<byte[]> out = Sinks.many().unicast().onBackpressureBuffer();
        private final BlockingQueue<JsonNode> in = new LinkedBlockingQueue<>();

        Control(MuxStream stream) {
            stream.send(out.asFlux().map(JsonLines::buffer)).subscribe(null, e -> { });
            JsonLines.decode(stream.inbound()).subscribe(in::add, e -> { });
        }

        JsonNode request(String line) throws InterruptedException {
            out.tryEmitNext((line + "\n").getBytes(StandardCharsets.UTF_8));
            JsonNode reply = in.poll(REPLY.toMillis(), TimeUnit.MILLISECONDS);
            assertThat(reply).as("a reply to %s within %s", line, REPLY).isNotNull();
            return reply;
        }
    }
}
