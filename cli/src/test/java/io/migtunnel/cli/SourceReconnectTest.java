package io.migtunnel.cli;

import static io.migtunnel.cli.CliProcesses.awaitLine;
import static io.migtunnel.cli.CliProcesses.freePort;
import static io.migtunnel.cli.CliProcesses.launch;
import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.testing.UnixSockets;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real processes: a forwarding source outlives its destination. The destination is killed
 * (SIGKILL) and started again on the same port. With session resumption (the default) the
 * connections made meanwhile wait; the new destination refuses to resume a session it never had,
 * so they fail, and the source starts a new session on its same exposed socket. Without
 * resumption, connections made meanwhile are closed at once. With {@code --exit-on-loss} the
 * source exits 1 when its session ends.
 */
@Timeout(120)
class SourceReconnectTest {
    @TempDir
    Path dir;

    private static String roundTrip(Path socket, String text) throws Exception {
        return new String(UnixSockets.roundTrip(socket, text.getBytes(StandardCharsets.US_ASCII)), StandardCharsets.US_ASCII);
    }

    /** A destination, an echo behind it and a source in front, all started; and the destination started again. */
    private final class Restart implements AutoCloseable {
        final int port;
        final Path target = dir.resolve("target.sock");
        final Path exposed = dir.resolve("exposed.sock");
        final Path slog = dir.resolve("src.log");
        final ServerSocketChannel echo;
        final Process dest;
        final Process src;
        Process dest2;

        /** Starts all three with {@code sourceOptions}, checks a round trip, then SIGKILLs the destination. */
        Restart(String... sourceOptions) throws Exception {
            port = freePort();
            echo = UnixSockets.echoServer(target);
            dest = launch(dir.resolve("dest1.log"), "destination", "--listen", "127.0.0.1:" + port,
                "--route", "x=" + target);
            awaitLine(dir.resolve("dest1.log"), "ready", dest);
            java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("source", "--connect",
                "127.0.0.1:" + port, "--expose", "x=" + exposed));
            args.addAll(java.util.List.of(sourceOptions));
            src = launch(slog, args.toArray(String[]::new));
            awaitLine(slog, "ready", src);
            assertThat(roundTrip(exposed, "before")).isEqualTo("before");
            dest.destroyForcibly().waitFor(30, TimeUnit.SECONDS); // SIGKILL: no GOAWAY, the connection just ends
        }

        void startDestinationAgain() throws Exception {
            dest2 = launch(dir.resolve("dest2.log"), "destination", "--listen", "127.0.0.1:" + port,
                "--route", "x=" + target);
        }

        @Override
        public void close() throws Exception {
            src.destroyForcibly();
            dest.destroyForcibly();
            if (dest2 != null) {
                dest2.destroyForcibly();
            }
            echo.close();
        }
    }

    @Test
    void aSourceKeepsItsSocketAndConnectsAgainWhenItsDestinationRestarts() throws Exception {
        try (Restart r = new Restart("--resume-grace", "0")) {
            Process src = r.src;
            Path slog = r.slog;
            Path exposed = r.exposed;
            awaitLine(slog, "reconnecting, exposed sockets stay open", src);
            assertThat(Files.readString(slog)).doesNotContain("keeping it for");
            assertThat(src.isAlive()).as(Files.readString(slog)).isTrue();
            assertThat(exposed).exists();

            // Connections made while there is no session are closed, with one log line for all of them.
            for (int i = 0; i < 50; i++) {
                try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(exposed))) {
                    assertThat(ch.read(ByteBuffer.allocate(1))).as("closed by the source").isEqualTo(-1);
                }
            }

            r.startDestinationAgain();
            awaitLine(slog, "reconnected to", src);
            String log = Files.readString(slog);
            assertThat(log.lines().filter(l -> l.contains("connection on " + exposed + " closed"))).as(log).hasSize(1);
            assertThat(log).contains("(50 local connection(s) closed meanwhile)");
            assertThat(roundTrip(exposed, "after")).as(Files.readString(slog)).isEqualTo("after");

            src.destroy(); // SIGTERM
            assertThat(src.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(src.exitValue()).as(Files.readString(slog)).isZero();
            assertThat(exposed).doesNotExist();
        }
    }

    @Test
    void connectionsMadeWhileDisconnectedWaitAndFailWhenTheRestartedDestinationRefusesToResume() throws Exception {
        try (Restart r = new Restart()) {
            Process src = r.src;
            Path slog = r.slog;
            awaitLine(slog, "keeping it for 120 s to be resumed", src);
            SocketChannel waiting = SocketChannel.open(UnixDomainSocketAddress.of(r.exposed));
            waiting.write(ByteBuffer.wrap("waiting".getBytes(StandardCharsets.US_ASCII)));

            r.startDestinationAgain();
            awaitLine(slog, "reconnected to", src);
            assertThat(Files.readString(slog)).contains("refused to resume the session: no such session");
            assertThat(Files.readString(dir.resolve("dest2.log"))).contains("refused to resume a session");
            ByteBuffer one = ByteBuffer.allocate(64);
            int n;
            try {
                n = waiting.read(one);
            } catch (java.io.IOException reset) {
                n = -1;
            }
            assertThat(n).as("the waiting connection's stream failed with its session").isEqualTo(-1);
            waiting.close();
            assertThat(roundTrip(r.exposed, "after")).as(Files.readString(slog)).isEqualTo("after");
        }
    }

    @Test
    void withExitOnLossTheSourceEndsWithItsSession() throws Exception {
        int port = freePort();
        Path dlog = dir.resolve("dest.log");
        Path slog = dir.resolve("src.log");
        Process dest = launch(dlog, "destination", "--listen", "127.0.0.1:" + port, "--route", "x=" + dir.resolve("t.sock"));
        Process src = null;
        try {
            awaitLine(dlog, "ready", dest);
            src = launch(slog, "source", "--connect", "127.0.0.1:" + port, "--expose", "x=" + dir.resolve("e.sock"),
                "--exit-on-loss", "--resume-grace", "0");
            awaitLine(slog, "ready", src);
            dest.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            assertThat(src.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(src.exitValue()).as(Files.readString(slog)).isEqualTo(1);
        } finally {
            if (src != null) {
                src.destroyForcibly();
            }
            dest.destroyForcibly();
        }
    }
}
