package io.migtunnel.qemu.migration.internal;

import com.fasterxml.jackson.databind.JsonNode;
import io.migtunnel.qemu.qmp.QmpClient;
import java.util.HashSet;
import java.util.Set;
import reactor.core.publisher.Mono;

/**
 * The migration capabilities one QEMU knows, asked once with {@code query-migrate-capabilities}:
 * an option whose capability QEMU lacks is refused before anything starts.
 */
final class QemuCapabilities {
    /** Urgent postcopy pages on a second channel; QEMU has it since 7.1. */
    static final String POSTCOPY_PREEMPT = "postcopy-preempt";

    private final Set<String> names;

    private QemuCapabilities(Set<String> names) {
        this.names = Set.copyOf(names);
    }

    /** Asks {@code qmp} once; the caller chooses how long to wait. */
    static Mono<QemuCapabilities> query(QmpClient qmp) {
        return qmp.execute("query-migrate-capabilities").map(QemuCapabilities::of);
    }

    /** From a {@code query-migrate-capabilities} result: {@code [{"capability": ..., "state": ...}, ...]}. */
    static QemuCapabilities of(JsonNode capabilities) {
        Set<String> names = new HashSet<>();
        for (JsonNode c : capabilities) {
            names.add(c.path("capability").asText());
        }
        return new QemuCapabilities(names);
    }

    /** Whether QEMU knows {@code capability}. */
    boolean has(String capability) {
        return names.contains(capability);
    }

    /** Fails, naming {@code side} ("source", "destination") and {@code option}, unless QEMU knows {@code capability}. */
    void require(String capability, String side, String option) {
        if (!has(capability)) {
            throw new StepFailure("the " + side + " QEMU lacks the '" + capability + "' migration capability "
                + "(query-migrate-capabilities does not list it; QEMU has it since 7.1): " + option
                + " cannot be used with it");
        }
    }
}
