package io.migtunnel.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.mux.SessionConfig;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A host that is both source and destination: an incoming QEMU binds the path a source exposes
 * and so replaces the source's socket file. The source must say so, and on exit remove only the
 * socket it created, never the one that took its place.
 */
@Timeout(60)
class ExposedSocketReplacedTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;
    private UnixServer echo;
    private Tunnel destination;
    private Tunnel source;
    private UnixServer squatter;

    @BeforeEach
    void start() throws Exception {
        echo = UnixServer.echo(dir.resolve("echo.sock"));
        destination = TunnelDestination.create().route("echo", echo.path()).bind().block(WAIT);
    }

    @AfterEach
    void stop() throws Exception {
        if (source != null) {
            source.dispose();
        }
        destination.dispose();
        echo.close();
        if (squatter != null) {
            squatter.close();
        }
    }

    @Test
    void aReplacedSocketIsReportedAndLeftToItsNewOwnerOnExit() throws Exception {
        Path exposed = dir.resolve("nbd.sock");
        try (CapturedLog log = CapturedLog.of("io.migtunnel")) {
            source = TunnelSource.create().config(SessionConfig.defaults())
                .connect(new InetSocketAddress("127.0.0.1", destination.address().getPort()))
                .expose("nbd", exposed).start().block(WAIT);
            Object ours = fileKey(exposed);

            squatter = UnixServer.echo(exposed); // deletes the file and binds its own socket there, as QEMU does
            Object theirs = fileKey(exposed);
            assertThat(theirs).isNotEqualTo(ours);

            assertThat(log.await(l -> l.startsWith("ERROR exposed socket 'nbd' at " + exposed
                + " was replaced by another file"), WAIT)).as("the replacement is reported; log: %s", log.lines())
                .isTrue();

            source.shutdown(Duration.ofSeconds(1)).block(WAIT);
            source = null;
            assertThat(Files.exists(exposed, LinkOption.NOFOLLOW_LINKS)).as("the new owner's socket survives").isTrue();
            assertThat(fileKey(exposed)).isEqualTo(theirs);
            assertThat(log.lines()).anyMatch(l -> l.startsWith("WARN not removing " + exposed));
        }
    }

    @Test
    void itsOwnSocketIsRemovedOnExit() throws Exception {
        Path exposed = dir.resolve("own.sock");
        source = TunnelSource.create().config(SessionConfig.defaults())
            .connect(new InetSocketAddress("127.0.0.1", destination.address().getPort()))
            .expose("nbd", exposed).start().block(WAIT);
        assertThat(Files.exists(exposed, LinkOption.NOFOLLOW_LINKS)).isTrue();
        source.shutdown(Duration.ofSeconds(1)).block(WAIT);
        source = null;
        assertThat(Files.exists(exposed, LinkOption.NOFOLLOW_LINKS)).isFalse();
    }

    private static Object fileKey(Path path) throws Exception {
        return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
    }
}
