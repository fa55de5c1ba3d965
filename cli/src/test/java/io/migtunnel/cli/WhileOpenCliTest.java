package io.migtunnel.cli;

import static io.migtunnel.cli.CliProcesses.awaitLine;
import static io.migtunnel.cli.CliProcesses.freePort;
import static io.migtunnel.cli.CliProcesses.launch;
import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.testing.Await;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real processes: {@code source --while-open migration=migration/preempt} names a second connection
 * made while the first is open (QEMU's postcopy-preempt channel), the destination routes both names
 * to one socket, and that socket accepts them in the order the client made them.
 */
@Timeout(120)
class WhileOpenCliTest {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @TempDir
    Path dir;

    @Test
    void aSecondConnectionWhileTheFirstIsOpenIsTheConcurrentStreamAndArrivesSecond() throws Exception {
        Path target = dir.resolve("incoming.sock");
        Path exposed = dir.resolve("mig.sock");
        int port = freePort();
        int metrics = freePort();
        try (ServerSocketChannel incoming = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            incoming.bind(UnixDomainSocketAddress.of(target));
            Process dest = launch(dir.resolve("dest.log"), "destination", "--listen", "127.0.0.1:" + port,
                "--route", "migration=" + target, "--route", "migration/preempt=" + target,
                "--metrics", "127.0.0.1:" + metrics);
            Process src = null;
            try {
                awaitLine(dir.resolve("dest.log"), "ready", dest);
                src = launch(dir.resolve("src.log"), "source", "--connect", "127.0.0.1:" + port,
                    "--expose", "migration=" + exposed, "--while-open", "migration=migration/preempt");
                awaitLine(dir.resolve("src.log"), "ready", src);

                try (SocketChannel main = connectAndSay(exposed, "main\n");
                     SocketChannel preempt = connectAndSay(exposed, "preempt\n")) {
                    List<String> accepted = new ArrayList<>();
                    for (int i = 0; i < 2; i++) {
                        try (SocketChannel c = incoming.accept()) {
                            accepted.add(readLine(c));
                        }
                    }
                    assertThat(accepted).as("what the target's connections said, in accept order")
                        .containsExactly("main", "preempt");
                }
                String body = Await.until("both streams counted", Duration.ofSeconds(30), () -> get(metrics),
                    b -> b.contains("stream=\"migration/preempt\""));
                assertThat(body).containsPattern("migtunnel_streams_opened_total\\{[^}]*stream=\"migration\"[^}]*} 1\\.0")
                    .containsPattern("migtunnel_streams_opened_total\\{[^}]*stream=\"migration/preempt\"[^}]*} 1\\.0");
            } finally {
                if (src != null) {
                    src.destroyForcibly();
                }
                dest.destroyForcibly();
            }
        }
    }

    private static SocketChannel connectAndSay(Path socket, String line) throws IOException {
        SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        c.write(ByteBuffer.wrap(line.getBytes(StandardCharsets.US_ASCII)));
        return c;
    }

    /** Reads up to the first newline; the accept is blocking, the stream's bytes follow its dial. */
    private static String readLine(SocketChannel c) throws IOException {
        StringBuilder s = new StringBuilder();
        ByteBuffer one = ByteBuffer.allocate(1);
        while (true) {
            one.clear();
            if (c.read(one) < 0) {
                throw new IOException("EOF after '" + s + "'");
            }
            char ch = (char) one.get(0);
            if (ch == '\n') {
                return s.toString();
            }
            s.append(ch);
        }
    }

    private static String get(int port) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
            .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }
}
