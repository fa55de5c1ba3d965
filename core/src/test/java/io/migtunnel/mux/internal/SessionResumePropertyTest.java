package io.migtunnel.mux.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.mux.SessionConfig;
import io.migtunnel.mux.SessionListener;
import io.migtunnel.mux.StreamAcceptor;
import io.migtunnel.protocol.Limits;
import io.migtunnel.testing.ManualEventExecutor;
import io.netty.buffer.ByteBuf;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import reactor.core.publisher.Flux;

/**
 * Random cuts, anywhere: two sessions on a hand-driven loop move bytes both ways on several
 * streams while their connection is reset after randomly chosen frames, including frames of the
 * resume exchange itself; the client resumes after each. Whatever the cut points, every byte
 * arrives exactly once and in order on every stream, every stream ends on both sides, no
 * tombstone is left, and (leak detection at PARANOID) every buffer is released.
 */
class SessionResumePropertyTest {
    private static final SessionConfig CONFIG = SessionConfig.defaults().withStreamWindow(Limits.MIN_STREAM_WINDOW)
        .withMaxFramePayload(Limits.MIN_FRAME_PAYLOAD).withResumeGrace(Duration.ofMinutes(5))
        .withHandshakeTimeout(Duration.ofMinutes(5)).withKeepalive(Duration.ofMinutes(5), Duration.ofMinutes(10));

    @Property(tries = 300)
    void everyByteArrivesOnceWhereverTheConnectionIsCut(@ForAll @IntRange(min = 1, max = 3) int streams,
                                                        @ForAll @IntRange(max = 200_000) int up,
                                                        @ForAll @IntRange(max = 200_000) int down,
                                                        @ForAll @Size(min = 1, max = 5) List<@IntRange(min = 1, max = 40) Integer> cuts,
                                                        @ForAll long seed) {
        Run run = new Run(streams, up, down, cuts, seed);
        run.go();
        Statistics.label("cuts made").collect(run.cutsMade);
        Statistics.label("resume attempts").collect(Math.min(run.attempts, 10));
        assertThat(run.failure).as("resume failed").isNull();
        assertThat(run.client.isClosed()).as("client session ended").isFalse();
        for (int i = 0; i < streams; i++) {
            assertThat(run.atServer.get(i).bytes()).as("stream %d upstream", i).isEqualTo(run.sent(i, true));
            assertThat(run.atClient.get(i).bytes()).as("stream %d downstream", i).isEqualTo(run.sent(i, false));
        }
        assertThat(run.client.activeStreams() + run.server.activeStreams()).as("open streams").isZero();
        assertThat(run.client.resumption().tombstones() + run.server.resumption().tombstones()).as("tombstones").isZero();
        run.close();
    }

    /** One try: the sessions, their wires and what each stream carried. */
    private static final class Run {
        final ManualEventExecutor loop = new ManualEventExecutor();
        final SessionDirectory directory = new SessionDirectory();
        final int streams;
        final int up;
        final int down;
        final long seed;
        final List<Integer> cuts;
        final Map<Integer, StreamBytes> atServer = new HashMap<>();
        final Map<Integer, StreamBytes> atClient = new HashMap<>();
        final StreamAcceptor acceptor;
        MuxSession client;
        MuxSession server;
        LoopbackSink toServer;
        LoopbackSink toClient;
        int cutsMade;
        int attempts;
        int framesUntilCut;
        Throwable failure;

        Run(int streams, int up, int down, List<Integer> cuts, long seed) {
            this.streams = streams;
            this.up = up;
            this.down = down;
            this.cuts = new ArrayList<>(cuts);
            this.seed = seed;
            this.acceptor = stream -> {
                int i = Integer.parseInt(stream.name().substring(1));
                stream.accept();
                StreamBytes c = new StreamBytes();
                atServer.put(i, c);
                stream.inbound().subscribe(c);
                stream.send(chunks(sent(i, false))).subscribe(null, e -> { });
            };
        }

        byte[] sent(int stream, boolean upstream) {
            return StreamBytes.random(seed * 31 + stream * 2L + (upstream ? 1 : 0),
                upstream ? up / (stream + 1) : down / (stream + 1));
        }

        void go() {
            toServer = new LoopbackSink(loop);
            toClient = new LoopbackSink(loop);
            client = new MuxSession(true, CONFIG, toServer, loop, StreamAcceptor.REFUSE_ALL, SessionListener.NONE);
            server = new MuxSession(false, CONFIG, toClient, loop, acceptor, SessionListener.NONE);
            server.serveResumes(directory, null);
            toServer.connectTo(server);
            toClient.connectTo(client);
            client.disconnects().subscribe(why -> loop.schedule(this::resume, 1, java.util.concurrent.TimeUnit.MILLISECONDS));
            client.start();
            server.start();
            loop.runPending(); // the handshake: a cut before it ends fails the session, which is not resumable yet
            armCut();
            for (int i = 0; i < streams; i++) {
                int n = i;
                client.open("s" + i).subscribe(stream -> {
                    StreamBytes c = new StreamBytes();
                    atClient.put(n, c);
                    stream.inbound().subscribe(c);
                    stream.send(chunks(sent(n, true))).subscribe(null, e -> { });
                }, e -> failure = e);
            }
            for (int step = 0; step < 200_000 && !settled(); step++) {
                loop.advance(Duration.ofMillis(1));
            }
            loop.advance(Duration.ofMillis(10)); // the last PINGs that forget tombstones
        }

        private boolean settled() {
            return failure != null || client.isClosed() || (atClient.size() == streams && atServer.size() == streams
                && atClient.values().stream().allMatch(StreamBytes::finished) && atServer.values().stream().allMatch(StreamBytes::finished)
                && client.activeStreams() == 0 && server.activeStreams() == 0
                && client.isConnected() && server.isConnected());
        }

        /** The next cut comes after the next {@code cuts} entry's count of frames, over both wires. */
        private void armCut() {
            if (cuts.isEmpty()) {
                return;
            }
            framesUntilCut = cuts.remove(0);
            java.util.function.Predicate<ByteBuf> count = bytes -> --framesUntilCut == 0;
            toServer.cutWhen(count, () -> {
                toClient.cut();
                cut();
            });
            toClient.cutWhen(count, () -> {
                toServer.cut();
                cut();
            });
        }

        private void cut() {
            cutsMade++; // the next cut is armed on the wires of the next resume attempt
        }

        /** As a source does: a new connection that asks to resume; tried again while attempts fail. */
        private void resume() {
            if (client.isClosed() || client.isConnected()) {
                return;
            }
            attempts++;
            LoopbackSink up = new LoopbackSink(loop);
            LoopbackSink down = new LoopbackSink(loop);
            Link link = client.resumeOver(up);
            MuxSession fresh = new MuxSession(false, CONFIG, down, loop, acceptor, SessionListener.NONE);
            fresh.serveResumes(directory, null);
            up.connectTo(fresh);
            down.connectTo(link, CONFIG.maxFramePayload());
            toServer = up;
            toClient = down;
            armCut();
            link.resumed().subscribe(null, e -> {
                if (client.isClosed()) {
                    failure = e;
                } else {
                    loop.schedule(this::resume, 1, java.util.concurrent.TimeUnit.MILLISECONDS);
                }
            });
            link.start();
            fresh.start();
        }

        void close() {
            client.close("try over");
            server.close("try over");
            loop.runPending();
        }
    }

    private static Flux<ByteBuf> chunks(byte[] data) {
        return StreamBytes.chunks(data, 20_000);
    }
}
