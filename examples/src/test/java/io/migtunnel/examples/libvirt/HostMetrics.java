package io.migtunnel.examples.libvirt;

import io.migtunnel.metrics.Scraper;
import io.migtunnel.testing.Cmd;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A forwarder's metrics endpoint on {@code 127.0.0.1:PORT} of its host, read with {@code curl}
 * run on that host: the host's loopback is its own, out of the JVM's reach, and a scrape never
 * crosses the link between the hosts.
 */
final class HostMetrics {
    private static final Duration CURL = Duration.ofSeconds(10);

    private final LibvirtHost host;
    private final int port;

    HostMetrics(LibvirtHost host, int port) {
        this.host = host;
        this.port = port;
    }

    /** Whether {@code /health} answers 200: a session is up. */
    boolean healthy() throws Exception {
        Cmd.Result r = host.run(CURL, List.of("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url("/health")));
        return r.stdout().strip().equals("200");
    }

    /** A sample of a fresh scrape, 0 when absent. */
    double sample(String name, Map<String, String> labels) throws Exception {
        Cmd.Result r = host.run(CURL, List.of("curl", "-sf", url("/metrics")));
        if (r.exitCode() != 0) {
            throw new AssertionError("scraping " + url("/metrics") + " on " + host + ": " + r.describe());
        }
        double v = Scraper.sample(r.stdout(), name, labels);
        return Double.isNaN(v) ? 0 : v;
    }

    private String url(String path) {
        return "http://127.0.0.1:" + port + path;
    }
}
