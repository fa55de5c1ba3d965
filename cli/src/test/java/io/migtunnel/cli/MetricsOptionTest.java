package io.migtunnel.cli;

import static io.migtunnel.cli.CliProcesses.awaitLine;
import static io.migtunnel.cli.CliProcesses.freePort;
import static io.migtunnel.cli.CliProcesses.launch;
import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.testing.Await;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Real processes: {@code --metrics} serves /health and /metrics on both roles. */
@Timeout(120)
class MetricsOptionTest {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @TempDir
    Path dir;

    private static HttpResponse<String> get(int port, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> awaitStatus(int port, String path, int status) throws Exception {
        return Await.until(path + " to answer " + status, Duration.ofSeconds(30), () -> get(port, path),
            r -> r.statusCode() == status);
    }

    @Test
    void bothRolesServeHealthAndMetrics() throws Exception {
        int port = freePort();
        int destinationMetrics = freePort();
        int sourceMetrics = freePort();
        Path dlog = dir.resolve("dest.log");
        Path slog = dir.resolve("src.log");
        Process dest = launch(dlog, "destination", "--listen", "127.0.0.1:" + port, "--route", "x=" + dir.resolve("t.sock"),
            "--metrics", "127.0.0.1:" + destinationMetrics);
        try {
            awaitLine(dlog, "ready", dest);
            assertThat(Files.readString(dlog)).contains("metrics: http://127.0.0.1:" + destinationMetrics + "/metrics");
            HttpResponse<String> alone = get(destinationMetrics, "/health");
            assertThat(alone.statusCode()).isEqualTo(503);
            assertThat(alone.body()).isEqualTo("no tunnel session is up\n");

            Process src = launch(slog, "source", "--connect", "127.0.0.1:" + port, "--expose", "x=" + dir.resolve("e.sock"),
                "--metrics", "127.0.0.1:" + sourceMetrics);
            try {
                awaitLine(slog, "ready", src);
                assertThat(get(sourceMetrics, "/health").body()).isEqualTo("ok: 1 session(s) up\n");
                assertThat(awaitStatus(destinationMetrics, "/health", 200).body()).isEqualTo("ok: 1 session(s) up\n");
                assertThat(get(sourceMetrics, "/metrics").body()).contains("migtunnel_sessions_active 1");

                src.destroy(); // SIGTERM
                assertThat(src.waitFor(30, TimeUnit.SECONDS)).isTrue();
                assertThat(src.exitValue()).as(Files.readString(slog)).isZero();
            } finally {
                src.destroyForcibly();
            }
            assertThat(awaitStatus(destinationMetrics, "/health", 503).statusCode()).isEqualTo(503);
            dest.destroy();
            assertThat(dest.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(dest.exitValue()).as(Files.readString(dlog)).isZero();
        } finally {
            dest.destroyForcibly();
        }
    }
}
