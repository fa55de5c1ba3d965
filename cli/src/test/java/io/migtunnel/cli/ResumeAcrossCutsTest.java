package io.migtunnel.cli;

import static io.migtunnel.cli.CliProcesses.awaitLine;
import static io.migtunnel.cli.CliProcesses.freePort;
import static io.migtunnel.cli.CliProcesses.launch;
import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.testing.Await;
import io.migtunnel.testing.DataFiles;
import io.migtunnel.testing.ExternalProcesses;
import io.migtunnel.testing.RealBinaries;
import io.migtunnel.testing.TcpCuts;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real processes, real NBD, real cuts: {@code nbdcopy} writes 1 GiB of random bytes to a
 * {@code qemu-nbd} disk through {@code migtunnel source} and {@code destination} (four NBD
 * connections, four streams), and reads it back, while the tunnel's TCP connection is reset
 * five times each way from outside the JVMs ({@code ss -K}). Both copies succeed, the disk and
 * the read-back equal the original, and the tunnel stays one session throughout.
 */
@Timeout(300)
class ResumeAcrossCutsTest {
    private static final long SIZE = 1L << 30;
    private static final int CUTS = 5;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final Pattern STREAM_BYTES = Pattern.compile("^migtunnel_stream_bytes_total\\{.*} (\\S+)$",
        Pattern.MULTILINE);

    @TempDir
    Path dir;
    private ExternalProcesses processes;
    private Process destination;
    private Process source;

    @AfterEach
    void stop() {
        for (Process p : new Process[] {source, destination}) {
            if (p != null) {
                p.destroyForcibly();
            }
        }
        if (processes != null) {
            processes.close();
        }
    }

    @Test
    void aGibibyteCopiedThroughTheTunnelBothWaysSurvivesFiveResetsEach() throws Exception {
        RealBinaries.require("qemu-nbd", "nbdcopy", "ss");
        Path original = DataFiles.randomFile(dir.resolve("original.bin"), SIZE, 0x5eed_0010L);
        Path disk = DataFiles.emptyRaw(dir.resolve("disk.raw"), SIZE);
        Path nbd = dir.resolve("nbd.sock");
        processes = new ExternalProcesses(dir);
        processes.qemuNbd(disk, nbd, "--shared=8", "--cache=unsafe");

        int port = freePort();
        int metrics = freePort();
        Path dlog = dir.resolve("dest.log");
        Path slog = dir.resolve("src.log");
        destination = launch(dlog, "destination", "--listen", "127.0.0.1:" + port, "--route", "nbd=" + nbd,
            "--insecure-plaintext", "--metrics", "127.0.0.1:" + metrics);
        awaitLine(dlog, "ready", destination);
        Path exposed = dir.resolve("exposed.sock");
        source = launch(slog, "source", "--connect", "127.0.0.1:" + port, "--expose", "nbd=" + exposed,
            "--insecure-plaintext");
        awaitLine(slog, "ready", source);
        String uri = "nbd+unix:///disk?socket=" + exposed;

        copyWithCuts(List.of("--flush", original.toString(), uri), port, metrics, 0);
        assertThat(Files.mismatch(original, disk)).as("disk after the write: first byte that differs").isEqualTo(-1L);
        Path readBack = dir.resolve("read-back.bin");
        copyWithCuts(List.of(uri, readBack.toString()), port, metrics, CUTS);
        assertThat(Files.mismatch(original, readBack)).as("read back: first byte that differs").isEqualTo(-1L);

        String sourceLog = Files.readString(slog);
        assertThat(sourceLog).as("never a new session").doesNotContain("a new session");
        assertThat(resumes(sourceLog)).as(sourceLog).hasSize(2 * CUTS);
        System.out.println("ResumeAcrossCutsTest: outage per resume as the source saw it (ms): " + resumes(sourceLog));
        assertThat(source.isAlive()).isTrue();
    }

    /**
     * Runs nbdcopy with {@code args}, resetting the tunnel connection each time another sixth of
     * the copy has crossed the tunnel (as the destination's metrics count it), {@code before}
     * resets having been made already.
     */
    private void copyWithCuts(List<String> args, int port, int metrics, int before) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of("nbdcopy", "--connections=4", "--threads=4"));
        command.addAll(args);
        double start = streamBytes(metrics);
        Process copy = processes.start(command.toArray(String[]::new));
        for (int cut = 1; cut <= CUTS; cut++) {
            double threshold = start + (double) SIZE * cut / (CUTS + 1);
            Await.until("copy past " + (long) threshold + " bytes", Duration.ofSeconds(120), () -> {
                assertThat(copy.isAlive() || copy.exitValue() == 0).as("nbdcopy: %s", processes.output(copy)).isTrue();
                return streamBytes(metrics) > threshold || !copy.isAlive();
            });
            assertThat(copy.isAlive()).as("nbdcopy still copying at cut %d", cut).isTrue();
            assertThat(TcpCuts.reset(port)).as("connections reset").isPositive();
            int expected = before + cut;
            Await.until("resume " + expected, Duration.ofSeconds(30),
                () -> resumes(Files.readString(dir.resolve("src.log"))).size() >= expected);
        }
        assertThat(copy.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(copy.exitValue()).as("nbdcopy: %s", processes.output(copy)).isZero();
    }

    /** DATA bytes the destination has moved, both directions, over every stream. */
    private static double streamBytes(int metrics) throws Exception {
        String body = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metrics + "/metrics"))
            .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = STREAM_BYTES.matcher(body);
        double total = 0;
        while (m.find()) {
            total += Double.parseDouble(m.group(1));
        }
        return total;
    }

    /** The outage of each resume the source logged, in ms. */
    private static List<Long> resumes(String log) {
        Matcher m = Pattern.compile("resumed after (\\d+) ms without a connection").matcher(log);
        List<Long> out = new java.util.ArrayList<>();
        while (m.find()) {
            out.add(Long.parseLong(m.group(1)));
        }
        return out;
    }
}
