package io.migtunnel.qemu.qmp;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/** {@link QmpClient} against a scripted {@link FakeQmpServer}. */
class QmpClientTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    private FakeQmpServer server;
    private QmpClient client;

    @AfterEach
    void tearDown() throws Exception {
        if (client != null) {
            client.close().block(WAIT);
        }
        if (server != null) {
            server.close();
        }
    }

    private QmpClient connect() throws Exception {
        server = FakeQmpServer.start(dir.resolve("qmp.sock"));
        client = QmpClient.connect(server.path(), WAIT).block(WAIT);
        assertThat(server.nextRequest().path("execute").asText()).isEqualTo("qmp_capabilities");
        return client;
    }

    @Test
    void connectReadsTheGreetingAndNegotiatesCapabilitiesFirst() throws Exception {
        server = FakeQmpServer.start(dir.resolve("qmp.sock"));
        client = QmpClient.connect(server.path(), WAIT).block(WAIT);

        JsonNode first = server.nextRequest();
        assertThat(first.path("execute").asText()).isEqualTo("qmp_capabilities");
        assertThat(first.has("arguments")).isFalse();
        assertThat(client.greeting()).isEqualTo(new QmpGreeting(7, 2, 1, "fake", java.util.List.of("oob")));
        assertThat(client.greeting().version()).isEqualTo("7.2.1");
        assertThat(client.socket()).isEqualTo(server.path());
    }

    @Test
    void connectRetriesUntilTheSocketAppears() throws Exception {
        Path socket = dir.resolve("later.sock");
        Mono<QmpClient> connecting = QmpClient.connect(socket, WAIT);

        StepVerifier.create(connecting)
                .then(() -> {
                    try {
                        server = FakeQmpServer.start(socket);
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                })
                .assertNext(c -> {
                    client = c;
                    assertThat(c.greeting().major()).isEqualTo(7);
                })
                .verifyComplete();
    }

    @Test
    void connectFailsWhenNoGreetingArrivesInTime() throws Exception {
        server = FakeQmpServer.silent(dir.resolve("qmp.sock"));

        StepVerifier.create(QmpClient.connect(server.path(), Duration.ofMillis(300)))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(QmpException.class)
                        .hasMessageContaining(server.path().toString())
                        .hasMessageContaining("not established within PT0.3S"))
                .verify(WAIT);
    }

    @Test
    void executeSendsArgumentsAndEmitsTheReturnValue() throws Exception {
        connect();

        StepVerifier.create(client.execute("query-status", Map.of("verbose", true)))
                .then(() -> {
                    JsonNode request = server.nextCommand();
                    assertThat(request.path("execute").asText()).isEqualTo("query-status");
                    assertThat(request.path("arguments").path("verbose").asBoolean()).isTrue();
                    assertThat(request.path("id").isIntegralNumber()).isTrue();
                    server.reply(request, "{\"status\": \"running\", \"running\": true}");
                })
                .assertNext(r -> assertThat(r.path("status").asText()).isEqualTo("running"))
                .verifyComplete();
    }

    @Test
    void idsIncrease() throws Exception {
        connect();

        StepVerifier.create(client.execute("a").then(client.execute("b")))
                .then(() -> {
                    JsonNode a = server.nextCommand();
                    server.reply(a, "{}");
                    JsonNode b = server.nextCommand();
                    assertThat(b.path("id").asLong()).isGreaterThan(a.path("id").asLong());
                    server.reply(b, "{}");
                })
                .expectNextCount(1)
                .verifyComplete();
    }

    @Test
    void errorReplyFailsWithQemusClassAndDescription() throws Exception {
        connect();

        StepVerifier.create(client.execute("drive-mirror", Map.of("device", "disk0")))
                .then(() -> server.replyError(server.nextCommand(), "GenericError", "Could not open '/nope'"))
                .expectErrorSatisfies(e -> {
                    assertThat(e).isExactlyInstanceOf(QmpException.class)
                            .hasMessage("QMP drive-mirror failed: GenericError: Could not open '/nope'");
                    QmpException q = (QmpException) e;
                    assertThat(q.command()).isEqualTo("drive-mirror");
                    assertThat(q.errorClass()).isEqualTo("GenericError");
                    assertThat(q.description()).isEqualTo("Could not open '/nope'");
                    assertThat(q.isErrorReply()).isTrue();
                })
                .verify(WAIT);
    }

    @Test
    void eventsBetweenACommandAndItsReplyAreDeliveredAndTheReplyStillCorrelates() throws Exception {
        connect();

        StepVerifier.create(client.events().take(2))
                .then(() -> StepVerifier.create(client.execute("cont"))
                        .then(() -> {
                            JsonNode request = server.nextCommand();
                            server.event("RESUME", "{}");
                            server.event("BLOCK_JOB_READY", "{\"device\": \"disk0\", \"len\": 42}");
                            server.reply(request, "{}");
                        })
                        .assertNext(r -> assertThat(r.isObject()).isTrue())
                        .verifyComplete())
                .assertNext(e -> {
                    assertThat(e.name()).isEqualTo("RESUME");
                    assertThat(e.data().isEmpty()).isTrue();
                    assertThat(e.timestamp()).isEqualTo(Instant.ofEpochSecond(1700000000, 250_000_000));
                })
                .assertNext(e -> {
                    assertThat(e.name()).isEqualTo("BLOCK_JOB_READY");
                    assertThat(e.data().path("len").asLong()).isEqualTo(42);
                })
                .expectComplete()
                .verify(WAIT);
    }

    @Test
    void repliesInReverseOrderCorrelateById() throws Exception {
        connect();

        Mono<String> both = Mono.zip(client.execute("first"), client.execute("second"))
                .map(t -> t.getT1().asText() + "," + t.getT2().asText());
        StepVerifier.create(both)
                .then(() -> {
                    JsonNode first = server.nextCommand();
                    JsonNode second = server.nextCommand();
                    assertThat(first.path("execute").asText()).isEqualTo("first");
                    server.reply(second, "\"two\"");
                    server.reply(first, "\"one\"");
                })
                .expectNext("one,two")
                .verifyComplete();
    }

    @Test
    void perCommandTimeoutFiresAndTheClientStaysUsable() throws Exception {
        connect();

        StepVerifier.create(client.execute("query-migrate", Map.of(), Duration.ofMillis(200)))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(QmpTimeoutException.class)
                        .hasMessage("QMP query-migrate failed: no reply within PT0.2S on " + server.path()))
                .verify(WAIT);

        JsonNode unanswered = server.nextCommand();
        StepVerifier.create(client.queryStatus())
                .then(() -> {
                    JsonNode request = server.nextCommand();
                    server.reply(unanswered, "{}"); // late reply: ignored
                    server.reply(request, "{\"status\": \"paused\"}");
                })
                .expectNext("paused")
                .verifyComplete();
    }

    @Test
    void serverDisconnectFailsThePendingCommandNamingTheSocketAndCompletesEvents() throws Exception {
        connect();

        StepVerifier.create(client.events())
                .then(() -> StepVerifier.create(client.execute("query-block"))
                        .then(() -> {
                            server.nextCommand();
                            server.disconnect();
                        })
                        .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(QmpDisconnectedException.class)
                                .hasMessage("QMP query-block failed: connection to " + server.path()
                                        + " closed by QEMU (end of stream)"))
                        .verify(WAIT))
                .expectComplete()
                .verify(WAIT);

        StepVerifier.create(client.execute("query-status"))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(QmpDisconnectedException.class)
                        .hasMessageContaining(server.path().toString()))
                .verify(WAIT);
    }

    @Test
    void malformedJsonFailsThePendingCommandClearly() throws Exception {
        connect();

        StepVerifier.create(client.execute("query-status"))
                .then(() -> {
                    server.nextCommand();
                    server.send("{\"return\": oops}\r\n");
                })
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(QmpDisconnectedException.class)
                        .hasMessageStartingWith("QMP query-status failed: connection to " + server.path()
                                + " broken: malformed JSON from QEMU: Unrecognized token 'oops'"))
                .verify(WAIT);
        StepVerifier.create(client.events()).expectComplete().verify(WAIT);
    }

    @Test
    void messagesAreFoundByObjectBoundariesNotLines() throws Exception {
        connect();

        StepVerifier.create(Mono.zip(client.execute("a"), client.execute("b")))
                .then(() -> {
                    long a = server.nextCommand().path("id").asLong();
                    long b = server.nextCommand().path("id").asLong();
                    // two replies on one line, then one split across writes, LF only
                    server.send("{\"return\": 1, \"id\": " + a + "}{\"event\": \"X\"}\n{\"return\": ");
                    server.send("2, \"id\": " + b + "}\n");
                })
                .assertNext(t -> assertThat(t.getT1().asInt() + t.getT2().asInt()).isEqualTo(3))
                .verifyComplete();
    }

    @Test
    void awaitEventSeesAnEventArrivingRightAfterTheCall() throws Exception {
        connect();

        Mono<QmpEvent> ready = client.awaitEvent("BLOCK_JOB_READY",
                e -> e.data().path("device").asText().equals("disk1"), WAIT);
        server.event("BLOCK_JOB_READY", "{\"device\": \"disk0\"}");
        server.event("BLOCK_JOB_READY", "{\"device\": \"disk1\"}");

        StepVerifier.create(ready)
                .assertNext(e -> assertThat(e.data().path("device").asText()).isEqualTo("disk1"))
                .verifyComplete();
    }

    @Test
    void awaitEventTimesOutAndFailsOnDisconnect() throws Exception {
        connect();

        StepVerifier.create(client.awaitEvent("SHUTDOWN", e -> true, Duration.ofMillis(100)))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(QmpTimeoutException.class)
                        .hasMessageContaining("wait for event SHUTDOWN"))
                .verify(WAIT);

        Mono<QmpEvent> shutdown = client.awaitEvent("SHUTDOWN", e -> true, WAIT);
        server.disconnect();
        StepVerifier.create(shutdown)
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(QmpDisconnectedException.class)
                        .hasMessage("QMP wait for event SHUTDOWN failed: connection to " + server.path()
                                + " closed by QEMU (end of stream)"))
                .verify(WAIT);
    }

    @Test
    void closeFailsPendingCommandsAndCompletesEvents() throws Exception {
        connect();

        StepVerifier.create(client.execute("query-status"))
                .then(() -> {
                    server.nextCommand();
                    client.close().block(WAIT);
                })
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(QmpDisconnectedException.class)
                        .hasMessageEndingWith("closed by the client"))
                .verify(WAIT);
        StepVerifier.create(client.events()).expectComplete().verify(WAIT);
    }

    @Test
    void typedCommandsSendWhatQemuExpects() throws Exception {
        connect();

        StepVerifier.create(client.migrateSetCapabilities(Map.of("events", true))
                        .then(client.migrateSetParameters(Map.of("max-bandwidth", 0)))
                        .then(client.blockJobCancel("disk0", true)))
                .then(() -> {
                    JsonNode caps = server.nextCommand();
                    assertThat(caps.path("arguments").toString())
                            .isEqualTo("{\"capabilities\":[{\"capability\":\"events\",\"state\":true}]}");
                    server.reply(caps, "{}");
                    JsonNode params = server.nextCommand();
                    assertThat(params.path("arguments").toString()).isEqualTo("{\"max-bandwidth\":0}");
                    server.reply(params, "{}");
                    JsonNode cancel = server.nextCommand();
                    assertThat(cancel.path("execute").asText()).isEqualTo("block-job-cancel");
                    assertThat(cancel.path("arguments").path("device").asText()).isEqualTo("disk0");
                    assertThat(cancel.path("arguments").path("force").asBoolean()).isTrue();
                    server.reply(cancel, "{}");
                })
                .verifyComplete();
    }

    @Test
    void withoutJunixsocketCommandsWorkButFdPassingFailsClearly() throws Exception {
        System.setProperty("migtunnel.qmp.nativeSockets", "false");
        try {
            connect();
        } finally {
            System.clearProperty("migtunnel.qmp.nativeSockets");
        }
        assertThat(client.supportsFileDescriptorPassing()).isFalse();

        StepVerifier.create(client.executeWithFd("getfd", Map.of("fdname", "x"), java.io.FileDescriptor.in))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(QmpException.class)
                        .hasMessageContaining("file-descriptor passing needs junixsocket"))
                .verify(WAIT);
        StepVerifier.create(client.queryStatus())
                .then(() -> server.reply(server.nextCommand(), "{\"status\": \"running\"}"))
                .expectNext("running")
                .verifyComplete();
    }
}
