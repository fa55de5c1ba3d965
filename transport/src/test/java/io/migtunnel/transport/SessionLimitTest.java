package io.migtunnel.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.testing.Await;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code maxSessions}: one source too many is refused with GOAWAY REFUSED; the others keep working. */
@Timeout(60)
class SessionLimitTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    @TempDir
    Path dir;
    private final List<Tunnel> tunnels = new ArrayList<>();
    private UnixServer echo;

    @AfterEach
    void stop() throws Exception {
        for (int i = tunnels.size() - 1; i >= 0; i--) {
            tunnels.get(i).dispose();
        }
        echo.close();
    }

    @Test
    void aSessionBeyondTheLimitIsRefusedAndTheOthersKeepWorking() throws Exception {
        echo = UnixServer.echo(dir.resolve("echo.sock"));
        Tunnel dest = track(TunnelDestination.create().route("echo", echo.path()).maxSessions(2).bind().block(TIMEOUT));
        Tunnel first = track(source(dest, "first").start().block(TIMEOUT));
        track(source(dest, "second").start().block(TIMEOUT));

        assertThat(Refusals.of(source(dest, "third"), TIMEOUT))
            .contains("REFUSED").contains("too many sessions: limit 2");
        assertThat(UnixClient.echo(dir.resolve("first.sock"), "first")).isEqualTo("first");
        assertThat(UnixClient.echo(dir.resolve("second.sock"), "second")).isEqualTo("second");

        first.dispose(); // frees a slot
        awaitSessions(dest, 1);
        track(source(dest, "fourth").start().block(TIMEOUT));
        assertThat(UnixClient.echo(dir.resolve("fourth.sock"), "fourth")).isEqualTo("fourth");
        assertThat(dest.sessions()).hasSize(2);
    }

    private TunnelSource source(Tunnel dest, String name) {
        return TunnelSource.create()
            .connect(new InetSocketAddress("127.0.0.1", dest.address().getPort()))
            .expose("echo", dir.resolve(name + ".sock"));
    }

    private static void awaitSessions(Tunnel dest, int n) throws Exception {
        Await.until(n + " sessions", TIMEOUT, () -> dest.sessions().size(), size -> size == n);
    }


    private Tunnel track(Tunnel t) {
        tunnels.add(t);
        return t;
    }
}
