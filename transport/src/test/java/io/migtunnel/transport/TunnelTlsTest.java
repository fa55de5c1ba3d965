package io.migtunnel.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.migtunnel.mux.SessionConfig;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Mutual TLS 1.3 on the tunnel connection: data, refused peers, mismatched configurations. */
@Timeout(60)
class TunnelTlsTest {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(10);
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

    @Test
    void bytesCrossATlsTunnelIntact() throws Exception {
        UnixServer echo = track(UnixServer.echo(dir.resolve("echo.sock")));
        track(TunnelPair.startTls(dir, Map.of("echo", echo.path()), SessionConfig.defaults(),
            certs.destination, certs.source));
        byte[] data = new byte[4 * 1024 * 1024 + 17];
        new Random(42).nextBytes(data);
        assertThat(Arrays.equals(echoThrough(TunnelPair.exposed(dir, "echo"), data), data))
            .as("echoed bytes equal sent bytes").isTrue();
        assertThat(echo.failures()).isEmpty();
    }

    @Test
    void sourceWithACertificateFromAnotherCaIsRefusedAndTheDestinationKeepsServing() throws Exception {
        UnixServer echo = track(UnixServer.echo(dir.resolve("echo.sock")));
        Tunnel dest = bindDestination(certs.destination, echo.path());
        TunnelSource stranger = sourceTo(dest, "stranger").tls(certs.sourceOfAnotherCa);

        assertThatThrownBy(() -> stranger.start().block(START_TIMEOUT))
            .satisfies(e -> assertThat(describe(e)).containsIgnoringCase("certificate"));
        assertThat(Files.exists(dir.resolve("stranger.sock"))).as("no socket exposed").isFalse();

        Tunnel good = track(sourceTo(dest, "good").tls(certs.source).start().block(START_TIMEOUT));
        byte[] data = "still serving".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        assertThat(echoThrough(dir.resolve("good.sock"), data)).isEqualTo(data);
        assertThat(good.isDisposed()).isFalse();
    }

    @Test
    void aCertificateOfTheCaThatIsNotAllowedIsRefusedNamingItsSubject() throws Exception {
        UnixServer echo = track(UnixServer.echo(dir.resolve("echo.sock")));
        Tunnel dest = bindDestination(certs.destination.allowSubjects(Set.of("CN=source")), echo.path());

        assertThat(Refusals.of(sourceTo(dest, "second").tls(certs.secondSource), START_TIMEOUT))
            .contains("REFUSED").contains("CN=source2").contains("not in tls-allow-subject");

        track(sourceTo(dest, "allowed").tls(certs.source).start().block(START_TIMEOUT));
        byte[] data = "allowed".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        assertThat(echoThrough(dir.resolve("allowed.sock"), data)).isEqualTo(data);
    }

    @Test
    void aSubjectAltNameDnsEntryAllowsACertificate() throws Exception {
        UnixServer echo = track(UnixServer.echo(dir.resolve("echo.sock")));
        Tunnel dest = bindDestination(certs.destination.allowSubjects(Set.of("DNS:Source2.migtunnel.test")), echo.path());

        track(sourceTo(dest, "second").tls(certs.secondSource).start().block(START_TIMEOUT));
        byte[] data = "by DNS name".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        assertThat(echoThrough(dir.resolve("second.sock"), data)).isEqualTo(data);
        assertThat(Refusals.of(sourceTo(dest, "first").tls(certs.source), START_TIMEOUT)).contains("CN=source ");
    }

    @Test
    void plaintextSourceIsRefusedByATlsDestinationWithinASecond() throws Exception {
        Tunnel dest = bindDestination(certs.destination, dir.resolve("unused.sock"));
        long started = System.nanoTime();
        assertThatThrownBy(() -> sourceTo(dest, "plain").start().block(START_TIMEOUT)).isNotNull();
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(1));
    }

    @Test
    void tlsSourceAgainstAPlaintextDestinationFailsWithoutHanging() throws Exception {
        Tunnel dest = bindDestination(null, dir.resolve("unused.sock"));
        long started = System.nanoTime();
        assertThatThrownBy(() -> sourceTo(dest, "tls").tls(certs.source).start().block(START_TIMEOUT))
            .satisfies(e -> assertThat(describe(e)).doesNotContain("Timeout on blocking read"));
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
        assertThat(dest.isDisposed()).isFalse();
    }

    @Test
    void aPeerThatNeverStartsTheTlsHandshakeIsDropped() throws Exception {
        Tunnel dest = track(TunnelDestination.create().tls(certs.destination)
            .config(SessionConfig.defaults().withHandshakeTimeout(Duration.ofMillis(300)))
            .bind().block(START_TIMEOUT));
        try (Socket silent = new Socket("127.0.0.1", dest.address().getPort())) {
            silent.setSoTimeout(5000); // the deadline: the destination must close well before
            long started = System.nanoTime();
            InputStream in = silent.getInputStream();
            try {
                assertThat(in.read()).as("connection closed by the destination").isEqualTo(-1);
            } catch (SocketException reset) {
                // closed with a reset: dropped as well
            }
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(3));
        }
    }

    @Test
    void theDestinationCertificateNeedNotNameTheAddressDialled() {
        // Its certificate names only DNS:destination.migtunnel.test; the source dials 127.0.0.1.
        Tunnel dest = bindDestination(certs.destination, dir.resolve("unused.sock"));
        Tunnel src = track(sourceTo(dest, "by-ip").tls(certs.source).start().block(START_TIMEOUT));
        assertThat(src.isDisposed()).isFalse();
    }

    private Tunnel bindDestination(TunnelTls tls, Path route) {
        TunnelDestination d = TunnelDestination.create().route("echo", route);
        return track(tls == null ? d.bind().block(START_TIMEOUT) : d.tls(tls).bind().block(START_TIMEOUT));
    }

    private TunnelSource sourceTo(Tunnel dest, String name) {
        return TunnelSource.create()
            .connect(new InetSocketAddress("127.0.0.1", dest.address().getPort()))
            .expose("echo", dir.resolve(name + ".sock"));
    }

    private static byte[] echoThrough(Path exposed, byte[] data) throws Exception {
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (SocketChannel ch = UnixClient.connect(exposed)) {
            Future<byte[]> reply = pool.submit(() -> UnixClient.readToEnd(ch));
            UnixClient.writeAll(ch, data);
            ch.shutdownOutput();
            return reply.get(30, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }
    }

    /** The messages of {@code e} and its causes. */
    private static String describe(Throwable e) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            sb.append(t).append(" / ");
        }
        return sb.toString();
    }

    private <T extends AutoCloseable> T track(T c) {
        toClose.add(c);
        return c;
    }

    private Tunnel track(Tunnel t) {
        toClose.add(t::dispose);
        return t;
    }
}
