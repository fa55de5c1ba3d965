package io.migtunnel.qemu.migration.internal;

import com.fasterxml.jackson.databind.JsonNode;
import io.migtunnel.qemu.qmp.QmpClient;
import java.util.HashSet;
import java.util.Set;
import reactor.core.publisher.Mono;

/**
 * The QMP commands one QEMU offers, asked once with {@code query-commands}: where an older QEMU
 * lacks a command, the migration falls back to the one it has.
 */
final class QemuCommands {
    private final Set<String> names;

    private QemuCommands(Set<String> names) {
        this.names = Set.copyOf(names);
    }

    /** Asks {@code qmp} once; the caller chooses how long to wait. */
    static Mono<QemuCommands> query(QmpClient qmp) {
        return qmp.execute("query-commands").map(QemuCommands::of);
    }

    /** From a {@code query-commands} result: {@code [{"name": ...}, ...]}. */
    static QemuCommands of(JsonNode queryCommands) {
        Set<String> names = new HashSet<>();
        for (JsonNode c : queryCommands) {
            names.add(c.path("name").asText());
        }
        return new QemuCommands(names);
    }

    /** Whether QEMU has {@code command}. */
    boolean has(String command) {
        return names.contains(command);
    }

    /** {@code blockdev-add} of an NBD node and {@code blockdev-mirror} into it; else {@code drive-mirror}. */
    boolean mirrorsWithBlockdev() {
        return has("blockdev-mirror") && has("blockdev-add");
    }

    /** {@code block-export-add}; else the older {@code nbd-server-add}. */
    boolean exportsWithBlockExportAdd() {
        return has("block-export-add");
    }
}
