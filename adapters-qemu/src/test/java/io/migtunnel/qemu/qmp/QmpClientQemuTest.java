package io.migtunnel.qemu.qmp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.migtunnel.testing.RealBinaries;
import java.io.File;
import java.io.FileOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.test.StepVerifier;

/**
 * {@link QmpClient} against a real {@code qemu-system-x86_64 -S} (no guest); skipped with
 * {@code -Dmigtunnel.skipQemu=true} or when QEMU is not installed.
 */
@Tag("qemu")
class QmpClientQemuTest {

    private static final String QEMU = "qemu-system-x86_64";
    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    private Process qemu;
    private QmpClient client;

    @BeforeEach
    void startQemu() throws Exception {
        RealBinaries.require(QEMU);
        Path socket = dir.resolve("qmp.sock");
        qemu = new ProcessBuilder(QEMU, "-machine", "q35,accel=tcg", "-nodefaults", "-display", "none",
                "-m", "64", "-qmp", "unix:" + socket + ",server=on,wait=off", "-S")
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(dir.resolve("qemu.stdout").toFile())
                .redirectError(dir.resolve("qemu.stderr").toFile())
                .start();
        client = QmpClient.connect(socket, WAIT).block(WAIT);
    }

    @AfterEach
    void stopQemu() throws Exception {
        try {
            if (client != null) {
                client.close().block(WAIT);
            }
        } finally {
            if (qemu != null) {
                qemu.destroyForcibly();
                qemu.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void greetingStatusAndCont() {
        assertThat(client.greeting().major()).isGreaterThanOrEqualTo(7);
        assertThat(client.greeting().capabilities()).contains("oob");

        StepVerifier.create(client.queryStatus()).expectNextMatches(List.of("prelaunch", "paused")::contains)
                .verifyComplete();
        StepVerifier.create(client.awaitEvent("RESUME", e -> true, WAIT)
                        .zipWith(client.execute("cont").then(client.queryStatus())))
                .assertNext(t -> {
                    assertThat(t.getT1().name()).isEqualTo("RESUME");
                    assertThat(t.getT2()).isEqualTo("running");
                })
                .verifyComplete();
    }

    @Test
    void unknownCommandFailsWithCommandNotFound() {
        StepVerifier.create(client.execute("no-such-command"))
                .expectErrorSatisfies(e -> {
                    assertThat(e).isExactlyInstanceOf(QmpException.class)
                            .hasMessageStartingWith("QMP no-such-command failed: CommandNotFound: ");
                    assertThat(((QmpException) e).errorClass()).isEqualTo("CommandNotFound");
                })
                .verify(WAIT);
    }

    @Test
    void typedQueriesReturnQemusAnswers() {
        StepVerifier.create(client.queryBlock()).assertNext(r -> assertThat(r.isArray()).isTrue()).verifyComplete();
        StepVerifier.create(client.queryBlockJobs()).assertNext(r -> assertThat(r.isEmpty()).isTrue())
                .verifyComplete();
        StepVerifier.create(client.migrateSetCapabilities(Map.of("events", true))
                        .then(client.migrateSetParameters(Map.of("max-bandwidth", 1L << 30)))
                        .then(client.execute("query-migrate-parameters")))
                .assertNext(r -> assertThat(r.path("max-bandwidth").asLong()).isEqualTo(1L << 30))
                .verifyComplete();
        StepVerifier.create(client.queryMigrate()).assertNext(r -> assertThat(r.isObject()).isTrue())
                .verifyComplete();
        StepVerifier.create(client.blockJobCancel("nothing", false))
                .expectErrorSatisfies(e -> assertThat(((QmpException) e).errorClass()).isEqualTo("DeviceNotActive"))
                .verify(WAIT);
    }

    @Test
    void getfdPassesARealFileDescriptorAndClosefdReleasesIt() throws Exception {
        assumeTrue(client.supportsFileDescriptorPassing(), "junixsocket native library not loaded");
        Path file = Files.createFile(dir.resolve("passed"));
        try (FileOutputStream out = new FileOutputStream(file.toFile())) {
            StepVerifier.create(client.execute("getfd", Map.of("fdname", "mt-test")))
                    .expectErrorSatisfies(e -> assertThat(e).hasMessageContaining("SCM_RIGHTS"))
                    .verify(WAIT);

            StepVerifier.create(client.executeWithFd("getfd", Map.of("fdname", "mt-test"), out.getFD()))
                    .assertNext(r -> assertThat(r.isEmpty()).isTrue())
                    .verifyComplete();
        }
        StepVerifier.create(client.execute("closefd", Map.of("fdname", "mt-test")))
                .expectNextCount(1)
                .verifyComplete();
        StepVerifier.create(client.execute("closefd", Map.of("fdname", "mt-test")))
                .expectErrorSatisfies(e -> assertThat(e).hasMessageContaining("not found"))
                .verify(WAIT);
    }

    @Test
    void quitIsObservedAsADisconnect() throws Exception {
        StepVerifier.create(client.events().map(QmpEvent::name))
                .then(() -> StepVerifier.create(client.execute("quit")).expectNextCount(1).verifyComplete())
                .expectNext("SHUTDOWN")
                .expectComplete()
                .verify(WAIT);
        assertThat(qemu.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();

        StepVerifier.create(client.queryStatus())
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(QmpDisconnectedException.class)
                        // QEMU 7.2 usually resets the connection on quit rather than closing it cleanly
                        .hasMessageStartingWith("QMP query-status failed: connection to " + client.socket()
                                + " closed by QEMU ("))
                .verify(WAIT);
    }
}
