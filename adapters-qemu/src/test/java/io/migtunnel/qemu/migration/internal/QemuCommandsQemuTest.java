package io.migtunnel.qemu.migration.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.migtunnel.qemu.vm.QemuVm;
import io.migtunnel.testing.RealBinaries;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@link QemuCommands} against a real QEMU's {@code query-commands}, and the fallbacks an older QEMU's list picks. */
@Tag("qemu")
@Timeout(60)
class QemuCommandsQemuTest {
    private static final Duration REPLY = Duration.ofSeconds(10);
    @TempDir
    Path dir;
    private QemuVm vm;

    @BeforeEach
    void start() throws Exception {
        RealBinaries.require("qemu-system-x86_64");
        vm = QemuVm.builder("vm", dir).memoryMiB(32).start();
    }

    @AfterEach
    void stop() {
        if (vm != null) {
            vm.close();
        }
    }

    @Test
    void aCurrentQemuHasTheNewerCommands() {
        QemuCommands commands = QemuCommands.query(vm.qmp()).block(REPLY);

        assertThat(commands.has("query-status")).isTrue();
        assertThat(commands.has("no-such-command")).isFalse();
        assertThat(commands.mirrorsWithBlockdev()).as("blockdev-add and blockdev-mirror").isTrue();
        assertThat(commands.exportsWithBlockExportAdd()).isTrue();
    }

    @Test
    void withoutTheNewerCommandsTheOlderOnesAreChosen() {
        JsonNode all = vm.qmp().execute("query-commands").block(REPLY);

        assertThat(QemuCommands.of(without(all, "blockdev-mirror")).mirrorsWithBlockdev()).isFalse();
        assertThat(QemuCommands.of(without(all, "blockdev-add")).mirrorsWithBlockdev()).isFalse();
        QemuCommands older = QemuCommands.of(without(all, "block-export-add"));
        assertThat(older.exportsWithBlockExportAdd()).isFalse();
        assertThat(older.has("nbd-server-add")).as("what the destination falls back to").isTrue();
        assertThat(older.has("drive-mirror")).as("what the source falls back to").isTrue();
    }

    /** {@code query-commands}'s list without {@code hidden}, as an older QEMU would answer. */
    private static ArrayNode without(JsonNode commands, String... hidden) {
        ArrayNode kept = JsonLines.MAPPER.createArrayNode();
        commands.forEach(c -> {
            if (!Set.of(hidden).contains(c.path("name").asText())) {
                kept.add(c);
            }
        });
        assertThat(kept.size()).isEqualTo(commands.size() - hidden.length);
        return kept;
    }
}
