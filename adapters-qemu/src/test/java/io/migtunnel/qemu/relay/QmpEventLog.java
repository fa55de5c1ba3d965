package io.migtunnel.qemu.relay;

import com.fasterxml.jackson.databind.JsonNode;
import io.migtunnel.qemu.qmp.QmpClient;
import io.migtunnel.qemu.qmp.QmpEvent;
import io.migtunnel.testing.Await;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import reactor.core.Disposable;

/**
 * Every event one {@link QmpClient} receives from the moment this log is created, kept, so that a
 * test can wait for an event that may already have arrived (two mirrors become READY in any
 * order) and can list every MIGRATION status QEMU went through.
 */
final class QmpEventLog implements AutoCloseable {
    private final List<QmpEvent> events = new CopyOnWriteArrayList<>();
    private final Disposable subscription;

    QmpEventLog(QmpClient qmp) {
        subscription = qmp.events().subscribe(events::add);
    }

    /** The events so far, in arrival order. */
    List<QmpEvent> events() {
        return List.copyOf(events);
    }

    /** The first event so far, or within {@code timeout}, among {@code names} whose data matches. */
    QmpEvent await(List<String> names, Predicate<JsonNode> data, Duration timeout) throws Exception {
        List<QmpEvent> seen = Await.until("a QMP event among " + names + " whose data matches", timeout,
            this::events, all -> first(all, names, data).isPresent());
        return first(seen, names, data).orElseThrow();
    }

    /** The {@code data.status} of every {@code MIGRATION} event so far. */
    List<String> migrationStatuses() {
        return events().stream().filter(e -> e.name().equals("MIGRATION"))
            .map(e -> e.data().path("status").asText()).toList();
    }

    private static Optional<QmpEvent> first(List<QmpEvent> all, List<String> names, Predicate<JsonNode> data) {
        return all.stream().filter(e -> names.contains(e.name()) && data.test(e.data())).findFirst();
    }

    @Override
    public void close() {
        subscription.dispose();
    }

    @Override
    public String toString() {
        return events().toString();
    }
}
