package io.migtunnel.metrics;

import io.migtunnel.testing.Await;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import reactor.netty.DisposableServer;

/** Reads a {@link MetricsServer} over HTTP the way Prometheus and a health probe would. */
public final class Scraper {
    private static final Pattern LABEL = Pattern.compile("(\\w+)=\"([^\"]*)\"");
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final int port;

    public Scraper(DisposableServer server) {
        this(server.port());
    }

    public Scraper(int port) {
        this.port = port;
    }

    public HttpResponse<String> get(String path) throws Exception {
        URI uri = URI.create("http://127.0.0.1:" + port + path);
        return HTTP.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
            HttpResponse.BodyHandlers.ofString());
    }

    /** The value of sample {@code name} with exactly {@code labels} in a fresh scrape, or NaN when absent. */
    public double sample(String name, Map<String, String> labels) throws Exception {
        return sample(get("/metrics").body(), name, labels);
    }

    public static double sample(String exposition, String name, Map<String, String> labels) {
        for (String line : exposition.split("\n")) {
            if (line.startsWith("#") || !line.startsWith(name)) {
                continue;
            }
            int brace = line.indexOf('{');
            int space = line.lastIndexOf(' ');
            String sampleName = brace >= 0 ? line.substring(0, brace) : line.substring(0, space);
            if (!sampleName.equals(name)) {
                continue;
            }
            Map<String, String> found = new HashMap<>();
            if (brace >= 0) {
                Matcher m = LABEL.matcher(line.substring(brace, line.lastIndexOf('}')));
                while (m.find()) {
                    found.put(m.group(1), m.group(2));
                }
            }
            if (found.equals(labels)) {
                return Double.parseDouble(line.substring(space + 1));
            }
        }
        return Double.NaN;
    }

    /** Scrapes until {@code sample} satisfies {@code condition} and returns it; fails after {@code timeout}. */
    public double awaitSample(String name, Map<String, String> labels, Predicate<Double> condition, Duration timeout)
        throws Exception {
        return Await.until(name + labels + " to match", timeout, () -> sample(name, labels), condition);
    }

    /** Requests {@code path} until its status is {@code status} and returns the response; fails after {@code timeout}. */
    public HttpResponse<String> awaitStatus(String path, int status, Duration timeout) throws Exception {
        return Await.until(path + " to answer " + status, timeout, () -> get(path), r -> r.statusCode() == status);
    }
}
