package io.migtunnel.mux.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.mux.MuxStream;
import io.migtunnel.mux.SessionClosedException;
import io.migtunnel.mux.SessionConfig;
import io.migtunnel.mux.SessionListener;
import io.migtunnel.mux.StreamAcceptor;
import io.migtunnel.mux.StreamResetException;
import io.migtunnel.protocol.ErrorCode;
import io.migtunnel.protocol.FrameType;
import io.migtunnel.protocol.HelloFrameCodec;
import io.migtunnel.protocol.Limits;
import io.migtunnel.protocol.ResumeFrameCodec;
import io.migtunnel.protocol.ResumeTable;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.concurrent.DefaultEventExecutor;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;

/**
 * Session resumption (PROTOCOL.md section 13) between two real sessions on one loop, over
 * in-memory wires that fail as networks do: reset, black-holed, or cut at the very frame that
 * matters (an OPEN, a FIN, a RESET in flight). After each resume every byte arrives exactly
 * once, in order, and both sides agree on every stream; refused resumes end the session with
 * the reason; a bad or replayed RESUME costs the real session nothing.
 */
class SessionResumeTest {
    private static final int WINDOW = Limits.MIN_STREAM_WINDOW;
    private static final SessionConfig CONFIG = SessionConfig.defaults().withStreamWindow(WINDOW)
        .withMaxFramePayload(Limits.MIN_FRAME_PAYLOAD).withResumeGrace(Duration.ofSeconds(30));
    private static final ByteBufAllocator ALLOC = ByteBufAllocator.DEFAULT;

    private final DefaultEventExecutor loop = new DefaultEventExecutor();
    private final SessionDirectory directory = new SessionDirectory();
    private final List<Throwable> failedAttempts = new CopyOnWriteArrayList<>();
    private final AtomicLong resumes = new AtomicLong();
    private final AtomicLong retransmitted = new AtomicLong();
    private final AtomicLong disconnects = new AtomicLong();
    private final List<String> refusals = new CopyOnWriteArrayList<>();
    private final SessionListener events = new SessionListener() {
        @Override
        public void onResumed(io.migtunnel.mux.Session session, Duration outage, long bytes) {
            retransmitted.addAndGet(bytes);
        }

        @Override
        public void onDisconnected(io.migtunnel.mux.Session session, String why) {
            disconnects.incrementAndGet();
        }

        @Override
        public void onResumeRefused(String reason) {
            refusals.add(reason);
        }
    };
    private SessionConfig config = CONFIG;
    /** The server's own configuration, when it differs from the client's. */
    private SessionConfig serverConfig;
    private StreamAcceptor serverAcceptor = StreamAcceptor.REFUSE_ALL;
    private MuxSession client;
    private MuxSession server;
    /** The current wires, client to server and back. */
    private LoopbackSink toServer;
    private LoopbackSink toClient;
    private boolean autoResume = true;

    @AfterEach
    void stop() throws Exception {
        if (client != null) {
            client.close("test over");
            server.close("test over");
        }
        assertThat(loop.shutdownGracefully(0, 5, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS)).isTrue();
    }

    // =====================================================================================
    // Bytes survive
    // =====================================================================================

    @Test
    void bothDirectionsBusyAcrossFiveCutsArriveExactlyOnceInOrder() throws Exception {
        int bytes = 24 << 20;
        byte[] up = random(1, bytes);
        byte[] down = random(2, bytes);
        StreamBytes atServer = new StreamBytes();
        serverAcceptor = stream -> {
            stream.accept();
            stream.inbound().subscribe(atServer);
            stream.send(chunks(down)).subscribe(null, e -> { });
        };
        connect();
        MuxStream stream = client.open("migration").block(Duration.ofSeconds(5));
        StreamBytes atClient = new StreamBytes();
        stream.inbound().subscribe(atClient);
        stream.send(chunks(up)).subscribe(null, e -> { });

        for (int cut = 1; cut <= 5; cut++) {
            long threshold = (long) bytes * cut / 6;
            awaitTrue(() -> atServer.size() > threshold && atClient.size() > threshold / 2);
            onLoop(() -> {
                cutBoth();
                return null;
            });
            long expected = cut;
            awaitTrue(() -> resumes.get() == expected);
        }
        assertThat(atServer.done.get(30, TimeUnit.SECONDS)).isEqualTo(up);
        assertThat(atClient.done.get(30, TimeUnit.SECONDS)).isEqualTo(down);
        assertThat(failedAttempts).isEmpty();
        assertThat(retransmitted.get()).as("bytes in flight at the cuts were sent again").isPositive();
        awaitTrue(() -> onLoopQuietly(() -> client.activeStreams() + server.activeStreams()
            + client.resumption().tombstones() + server.resumption().tombstones()) == 0);
    }

    @Test
    void aBlackHoleLongerThanTheKeepaliveTimeoutIsResumedToo() throws Exception {
        config = CONFIG.withKeepalive(Duration.ofMillis(50), Duration.ofMillis(200));
        byte[] up = random(3, 4 << 20);
        StreamBytes atServer = acceptAndCollect();
        connect();
        MuxStream stream = client.open("nbd/disk0").block(Duration.ofSeconds(5));
        stream.inbound().subscribe(ByteBuf::release);
        stream.send(chunks(up)).subscribe(null, e -> { });
        awaitTrue(() -> atServer.size() > 1 << 20);
        onLoop(() -> {
            toServer.stall();
            toClient.stall();
            return null;
        });
        assertThat(atServer.done.get(30, TimeUnit.SECONDS)).isEqualTo(up);
        assertThat(resumes.get()).isGreaterThanOrEqualTo(1);
    }

    // =====================================================================================
    // Control frames in flight at the cut
    // =====================================================================================

    @Test
    void anOpenLostInTheCutIsSentAgainAndItsStreamWorks() throws Exception {
        StreamBytes atServer = acceptAndCollect();
        connect();
        toServer.cutOnWrite(FrameType.OPEN, false, () -> toClient.cut());
        MuxStream stream = client.open("control").block(Duration.ofSeconds(5));
        byte[] data = random(4, 100_000);
        stream.inbound().subscribe(ByteBuf::release);
        stream.send(chunks(data)).subscribe(null, e -> { });
        assertThat(atServer.done.get(10, TimeUnit.SECONDS)).isEqualTo(data);
        assertThat(resumes.get()).isEqualTo(1);
    }

    @Test
    void aFinLostInTheCutIsSentAgainAndBothSidesForgetTheStream() throws Exception {
        StreamBytes atServer = new StreamBytes();
        serverAcceptor = stream -> {
            stream.accept();
            stream.inbound().subscribe(atServer);
            stream.send(Flux.empty()).subscribe(null, e -> { });
        };
        connect();
        toServer.cutOnWrite(FrameType.DATA, true, () -> toClient.cut());
        MuxStream stream = client.open("nbd/disk1").block(Duration.ofSeconds(5));
        byte[] data = random(5, 50_000);
        stream.inbound().subscribe(ByteBuf::release);
        stream.send(chunks(data)).block(Duration.ofSeconds(10));
        assertThat(atServer.done.get(10, TimeUnit.SECONDS)).isEqualTo(data);
        assertThat(resumes.get()).isEqualTo(1);
        awaitTrue(() -> onLoopQuietly(() -> server.activeStreams() + client.resumption().tombstones()
            + server.resumption().tombstones()) == 0);
    }

    @Test
    void aResetLostInTheCutIsSentAgainWithTheOffsetThePeerReceived() throws Exception {
        CompletableFuture<Throwable> serverSaw = new CompletableFuture<>();
        serverAcceptor = stream -> {
            stream.accept();
            stream.inbound().subscribe(ByteBuf::release, serverSaw::complete);
        };
        connect();
        MuxStream stream = client.open("nbd/disk2").block(Duration.ofSeconds(5));
        stream.send(chunks(random(6, 30_000)).concatWith(Flux.never())).subscribe(null, e -> { });
        awaitTrue(() -> onLoopQuietly(() -> server.activeStreams()) == 1);
        toServer.cutOnWrite(FrameType.RESET, false, () -> toClient.cut());
        stream.reset(ErrorCode.CANCELLED, "given up on purpose");
        awaitTrue(() -> resumes.get() == 1 || !failedAttempts.isEmpty() || !refusals.isEmpty());
        assertThat(failedAttempts).isEmpty();
        assertThat(refusals).isEmpty();
        assertThat(serverSaw.get(10, TimeUnit.SECONDS)).isInstanceOf(StreamResetException.class)
            .hasMessageContaining("given up on purpose");
        assertThat(resumes.get()).isEqualTo(1);
        assertThat(failedAttempts).isEmpty();
        awaitTrue(() -> onLoopQuietly(() -> server.activeStreams() + client.activeStreams()) == 0);
    }

    @Test
    void anOpenOkLostInTheCutIsSentAgain() throws Exception {
        acceptAndCollect();
        connect();
        toClient.cutOnWrite(FrameType.OPEN_OK, false, () -> toServer.cut());
        MuxStream stream = client.open("control").block(Duration.ofSeconds(5));
        stream.onOpened().block(Duration.ofSeconds(10));
        assertThat(resumes.get()).isEqualTo(1);
    }

    @Test
    void aStreamOpenedWhileDisconnectedWaitsAndThenWorks() throws Exception {
        StreamBytes atServer = acceptAndCollect();
        autoResume = false;
        connect();
        onLoop(() -> {
            cutBoth();
            return null;
        });
        awaitTrue(() -> !client.isConnected() && !server.isConnected());
        MuxStream stream = client.open("late").block(Duration.ofSeconds(5));
        byte[] data = random(7, 200_000);
        stream.inbound().subscribe(ByteBuf::release);
        stream.send(chunks(data)).subscribe(null, e -> { });
        onLoop(() -> {
            resume();
            return null;
        });
        assertThat(atServer.done.get(10, TimeUnit.SECONDS)).isEqualTo(data);
    }

    @Test
    void aPeerThatAnnouncesAHugeWindowAndNeverConsumesGetsOneLocalWindowAtMost() throws Exception {
        // The server grants 16 windows and its consumer never reads: no CREDIT ever comes back.
        serverConfig = CONFIG.withStreamWindow(16 * WINDOW);
        serverAcceptor = stream -> stream.accept();
        connect();
        MuxStream stream = client.open("nbd/disk3").block(Duration.ofSeconds(5));
        stream.inbound().subscribe(ByteBuf::release);
        stream.send(chunks(random(10, 8 * WINDOW))).subscribe(null, e -> { });
        awaitTrue(() -> onLoopQuietly(() -> server.bufferedBytes()) >= WINDOW);
        onLoop(() -> null); // anything the client still had queued
        assertThat(onLoop(() -> server.bufferedBytes())).as("held for retransmission: one local window")
            .isEqualTo(WINDOW);
    }

    // =====================================================================================
    // Refusals
    // =====================================================================================

    @Test
    void aServerThatForgotTheSessionRefusesAndTheClientsStreamsFailWithTheReason() throws Exception {
        acceptAndCollect();
        autoResume = false;
        connect();
        MuxStream stream = client.open("migration").block(Duration.ofSeconds(5));
        CompletableFuture<Throwable> failed = new CompletableFuture<>();
        stream.inbound().subscribe(ByteBuf::release, failed::complete);
        onLoop(() -> {
            cutBoth();
            return null;
        });
        awaitTrue(() -> !server.isConnected());
        server.close("destination restarted");
        onLoop(() -> {
            resume();
            return null;
        });
        assertThat(failed.get(10, TimeUnit.SECONDS)).isInstanceOf(SessionClosedException.class)
            .hasMessageContaining("refused to resume").hasMessageContaining("no such session");
        assertThat(client.onClose().onErrorResume(e -> reactor.core.publisher.Mono.empty())
            .block(Duration.ofSeconds(5))).isNull();
        assertThat(client.isConnected()).isFalse();
        onLoop(() -> null); // the refused connection's close reaches the connection that carried the resume
        assertThat(disconnects.get()).as("the refused connection is no session of its own that waits").isEqualTo(2);
    }

    @Test
    void theGracePeriodEndsAnUnresumedSessionOnBothSides() throws Exception {
        config = CONFIG.withResumeGrace(Duration.ofMillis(300));
        autoResume = false;
        connect();
        onLoop(() -> {
            cutBoth();
            return null;
        });
        for (MuxSession s : List.of(client, server)) {
            assertThat(catching(() -> s.onClose().block(Duration.ofSeconds(5))))
                .hasMessageContaining("not resumed within the grace period");
        }
        assertThat(directory.size()).isZero();
    }

    @Test
    void aReplayedResumeIsRefusedAndTheSessionStaysWithItsOwner() throws Exception {
        java.util.Map<String, StreamBytes> byName = new java.util.concurrent.ConcurrentHashMap<>();
        serverAcceptor = stream -> {
            stream.accept();
            StreamBytes c = new StreamBytes();
            byName.put(stream.name(), c);
            stream.inbound().subscribe(c);
        };
        connect();
        onLoop(() -> {
            cutBoth();
            return null;
        });
        awaitTrue(() -> resumes.get() == 1);
        MuxStream first = client.open("first").block(Duration.ofSeconds(5));
        first.inbound().subscribe(ByteBuf::release);
        first.send(chunks(random(9, 1000))).block(Duration.ofSeconds(5)); // the client has used the new connection
        // The attacker saw the RESUME of that connection; it replays it on its own.
        byte[] token = onLoop(() -> client.resumption().token());
        ByteBuf replay = ResumeFrameCodec.encode(ALLOC, lastResumeToken, lastClientNonce, lastProof,
            new ResumeTable(0, List.of()));
        assertThat(attack(replay)).contains("no such session");
        // The current token with a made-up proof.
        assertThat(attack(ResumeFrameCodec.encode(ALLOC, token, new byte[32], new byte[32],
            new ResumeTable(0, List.of())))).contains("bad proof");
        // Garbage where RESUME belongs: that connection ends, nothing else.
        assertThat(attack(io.migtunnel.protocol.PingFrameCodec.encodePing(ALLOC, 1)))
            .isEqualTo("PROTOCOL_ERROR: expected RESUME after HELLO, got PING");
        assertThat(refusals).hasSize(2);

        MuxStream stream = client.open("still-mine").block(Duration.ofSeconds(5));
        byte[] data = random(8, 10_000);
        stream.inbound().subscribe(ByteBuf::release);
        stream.send(chunks(data)).subscribe(null, e -> { });
        awaitTrue(() -> byName.containsKey("still-mine"));
        assertThat(byName.get("still-mine").done.get(10, TimeUnit.SECONDS)).isEqualTo(data);
    }

    // =====================================================================================
    // Harness
    // =====================================================================================

    private byte[] lastResumeToken;
    private byte[] lastClientNonce;
    private byte[] lastProof;

    private StreamBytes acceptAndCollect() {
        StreamBytes at = new StreamBytes();
        serverAcceptor = stream -> {
            stream.accept();
            stream.inbound().subscribe(at);
        };
        return at;
    }

    private void connect() throws Exception {
        toServer = new LoopbackSink(loop);
        toClient = new LoopbackSink(loop);
        client = new MuxSession(true, config, toServer, loop, StreamAcceptor.REFUSE_ALL, events);
        server = new MuxSession(false, serverConfig != null ? serverConfig : config, toClient, loop, serverAcceptor,
            events);
        server.serveResumes(directory, null);
        toServer.connectTo(server);
        toClient.connectTo(client);
        loop.execute(() -> {
            client.start();
            server.start();
        });
        client.ready().block(Duration.ofSeconds(5));
        server.ready().block(Duration.ofSeconds(5));
        client.disconnects().subscribe(why -> {
            if (autoResume) {
                loop.schedule(this::resume, 1, TimeUnit.MILLISECONDS);
            }
        });
    }

    private void cutBoth() {
        toServer.cut();
        toClient.cut();
    }

    /** What a source does when its connection is gone: a new one, asking to resume. */
    private void resume() {
        LoopbackSink up = new LoopbackSink(loop);
        LoopbackSink down = new LoopbackSink(loop);
        Link link = client.resumeOver(up);
        MuxSession fresh = new MuxSession(false, config, down, loop, serverAcceptor, events);
        fresh.serveResumes(directory, null);
        up.connectTo(new Sniffer(fresh), config.maxFramePayload());
        down.connectTo(link, config.maxFramePayload());
        toServer = up;
        toClient = down;
        link.resumed().subscribe(null, failedAttempts::add, resumes::incrementAndGet);
        link.start();
        fresh.start();
    }

    /** Remembers the RESUME a connection carried, as an eavesdropper would. */
    private final class Sniffer implements FrameReceiver {
        private final MuxSession target;

        Sniffer(MuxSession target) {
            this.target = target;
        }

        @Override
        public void start() {
            target.start();
        }

        @Override
        public void onFrame(io.migtunnel.protocol.Frame frame) {
            if (frame.type() == FrameType.RESUME) {
                lastResumeToken = ResumeFrameCodec.token(frame.payload());
                lastClientNonce = ResumeFrameCodec.clientNonce(frame.payload());
                lastProof = ResumeFrameCodec.proof(frame.payload());
            }
            target.onFrame(frame);
        }

        @Override
        public void onDecodeError(io.migtunnel.protocol.ProtocolException e) {
            target.onDecodeError(e);
        }

        @Override
        public void onWritabilityChanged() {
            target.onWritabilityChanged();
        }

        @Override
        public void onConnectionClosed(Throwable cause) {
            target.onConnectionClosed(cause);
        }
    }

    /**
     * A connection of the attacker's to the server: HELLO asking to resume, then {@code second}.
     * Returns the reason of the GOAWAY the server answered with (null for none) once it closed.
     */
    private String attack(ByteBuf second) throws Exception {
        LoopbackSink down = new LoopbackSink(loop);
        MuxSession fresh = new MuxSession(false, config, down, loop, serverAcceptor, events);
        fresh.serveResumes(directory, null);
        CompletableFuture<String> goAway = new CompletableFuture<>();
        down.connectTo(new FrameReceiver() {
            @Override
            public void start() {
            }

            @Override
            public void onFrame(io.migtunnel.protocol.Frame frame) {
                if (frame.type() == FrameType.GOAWAY) {
                    goAway.complete(io.migtunnel.protocol.GoAwayFrameCodec.message(frame.payload()));
                }
                frame.release();
            }

            @Override
            public void onDecodeError(io.migtunnel.protocol.ProtocolException e) {
            }

            @Override
            public void onWritabilityChanged() {
            }

            @Override
            public void onConnectionClosed(Throwable cause) {
                goAway.complete(null);
            }
        }, config.maxFramePayload());
        loop.execute(() -> {
            fresh.start();
            ByteBuf hello = HelloFrameCodec.encode(ALLOC, Limits.VERSION,
                HelloFrameCodec.RESUMABLE | HelloFrameCodec.RESUME, config.streamWindow(), config.maxFramePayload(),
                config.maxConcurrentStreams());
            for (ByteBuf frame : List.of(hello, second)) {
                io.migtunnel.protocol.Frame decoded = io.migtunnel.protocol.FrameDecoder.decode(frame,
                    config.maxFramePayload());
                frame.release();
                fresh.onFrame(decoded);
            }
        });
        return goAway.get(5, TimeUnit.SECONDS);
    }

    private static Flux<ByteBuf> chunks(byte[] data) {
        return StreamBytes.chunks(data, 48 * 1024);
    }

    private static byte[] random(long seed, int n) {
        return StreamBytes.random(seed, n);
    }

    private <T> T onLoop(Callable<T> task) throws Exception {
        return loop.submit(task).get(10, TimeUnit.SECONDS);
    }

    private <T> T onLoopQuietly(Callable<T> task) {
        try {
            return onLoop(task);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static Throwable catching(Runnable r) {
        try {
            r.run();
            return null;
        } catch (RuntimeException e) {
            return e;
        }
    }

    private static void awaitTrue(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition not met within 30 s").isLessThan(deadline);
            Thread.sleep(2); // polling interval of a condition wait
        }
    }
}
