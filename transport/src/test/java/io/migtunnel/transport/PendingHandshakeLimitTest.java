package io.migtunnel.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.mux.SessionConfig;
import io.migtunnel.testing.Await;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code maxPendingHandshakes}: connections that send nothing hold their slots until the handshake
 * timeout; one more connection is closed at once, before a byte is exchanged; once the silent
 * ones have been dropped, a real source gets its session. Plaintext (waiting for HELLO) and TLS
 * (waiting in the TLS handshake).
 */
@Timeout(60)
class PendingHandshakeLimitTest {
    private static final int LIMIT = 3;
    private static final Duration HANDSHAKE = Duration.ofSeconds(2);
    private static final Duration TIMEOUT = Duration.ofSeconds(15);
    private static TestCertificates certs;

    @TempDir
    Path dir;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @BeforeAll
    static void makeCertificates(@TempDir Path certDir) throws Exception {
        certs = TestCertificates.create(certDir);
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    @ParameterizedTest(name = "tls={0}")
    @ValueSource(booleans = {false, true})
    void silentConnectionsBeyondTheLimitAreClosedAndARealSourceGetsInAfterTheirTimeout(boolean tls) throws Exception {
        UnixServer echo = track(UnixServer.echo(dir.resolve("echo.sock")));
        TunnelDestination config = TunnelDestination.create().route("echo", echo.path()).maxPendingHandshakes(LIMIT)
            .config(SessionConfig.defaults().withHandshakeTimeout(HANDSHAKE));
        Tunnel dest = (tls ? config.tls(certs.destination) : config)
            .bind().block(TIMEOUT);
        track(dest::dispose);

        List<Socket> silent = new ArrayList<>();
        for (int i = 0; i < LIMIT; i++) {
            silent.add(track(connect(dest)));
        }
        await("all " + LIMIT + " silent connections pending", () -> dest.pendingHandshakes() == LIMIT);

        long connected = System.nanoTime();
        try (Socket extra = connect(dest)) {
            assertThat(extra.getInputStream().read()).as("the extra connection: closed, no byte").isEqualTo(-1);
        }
        assertThat(Duration.ofNanos(System.nanoTime() - connected)).as("closed at once, not at the handshake timeout")
            .isLessThan(HANDSHAKE);
        assertThat(dest.pendingHandshakes()).isEqualTo(LIMIT);

        for (Socket s : silent) { // the destination drops each after the handshake timeout
            drainToEnd(s.getInputStream());
        }
        await("no connection pending", () -> dest.pendingHandshakes() == 0);

        TunnelSource source = TunnelSource.create()
            .connect(new InetSocketAddress("127.0.0.1", dest.address().getPort())).expose("echo", dir.resolve("src.sock"));
        Tunnel started = (tls ? source.tls(certs.source) : source).start().block(TIMEOUT);
        track(started::dispose);
        assertThat(UnixClient.echo(dir.resolve("src.sock"), "through")).isEqualTo("through");
        assertThat(dest.sessions()).hasSize(1);
        assertThat(dest.pendingHandshakes()).as("a session is not pending").isZero();
    }

    private static Socket connect(Tunnel dest) throws Exception {
        Socket s = new Socket("127.0.0.1", dest.address().getPort());
        s.setSoTimeout((int) TIMEOUT.toMillis()); // a read that hangs fails the test instead
        return s;
    }

    /** Reads until the peer closes (plaintext: its HELLO and GOAWAY come first). */
    private static void drainToEnd(InputStream in) throws Exception {
        byte[] buf = new byte[4096];
        while (in.read(buf) >= 0) {
            // discard
        }
    }

    private static void await(String what, BooleanSupplier condition) throws Exception {
        Await.until(what, TIMEOUT, condition::getAsBoolean);
    }


    private <T extends AutoCloseable> T track(T c) {
        toClose.add(c);
        return c;
    }
}
