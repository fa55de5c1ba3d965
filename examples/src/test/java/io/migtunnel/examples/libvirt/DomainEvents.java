package io.migtunnel.examples.libvirt;

import io.migtunnel.testing.Await;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The lifecycle events of every domain on a host, as {@code virsh event --loop} prints them
 * ("event 'lifecycle' for domain 'mt-guest': Suspended Post-copy"). It is started before the
 * tests and proven registered with a probe domain defined and undefined until its event shows,
 * so no event of a test is missed.
 */
final class DomainEvents {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final String PROBE = "mt-events-probe";

    private final LibvirtHost host;
    private final Daemon watcher;

    private DomainEvents(LibvirtHost host, Daemon watcher) {
        this.host = host;
        this.watcher = watcher;
    }

    static DomainEvents watch(LibvirtHost host, Path dir) throws Exception {
        Daemon watcher = host.spawn("virsh-event", LibvirtHost.virshCommand("event", "--loop", "--event",
            "lifecycle", "--timestamp"));
        Path probe = Files.writeString(Files.createDirectories(dir).resolve(PROBE + "-" + host.name() + ".xml"),
            DomainXml.named(PROBE).render());
        Await.until("virsh event on " + host + " to report a probe domain", TIMEOUT, () -> {
            watcher.assertAlive();
            host.virshOk("define", probe.toAbsolutePath().toString());
            host.virshOk("undefine", PROBE);
            return watcher.output().contains("domain '" + PROBE + "'");
        });
        return new DomainEvents(host, watcher);
    }

    /** A mark to read events from: the events from now on are {@link #since} it. */
    int mark() {
        return watcher.output().length();
    }

    /** The event lines for {@code domain} after {@code mark}, without their timestamps. */
    List<String> since(int mark, String domain) {
        String prefix = "event 'lifecycle' for domain '" + domain + "': ";
        return watcher.output().substring(mark).lines().filter(l -> l.contains(prefix))
            .map(l -> l.substring(l.indexOf(prefix) + prefix.length()).strip()).toList();
    }

    /** Waits until {@code event} (e.g. "Stopped Migrated") was reported for {@code domain} after {@code mark}. */
    void await(int mark, String domain, String event) throws Exception {
        Await.until("event '" + event + "' of " + domain + " on " + host, TIMEOUT, () -> {
            watcher.assertAlive();
            return since(mark, domain);
        }, events -> events.contains(event));
    }
}
