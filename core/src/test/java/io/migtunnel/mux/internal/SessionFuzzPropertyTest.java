package io.migtunnel.mux.internal;

import io.migtunnel.mux.MuxStream;
import io.migtunnel.mux.Session;
import io.migtunnel.mux.SessionConfig;
import io.migtunnel.mux.SessionListener;
import io.migtunnel.mux.StreamAcceptor;
import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.protocol.CreditFrameCodec;
import io.migtunnel.protocol.DataFrameCodec;
import io.migtunnel.protocol.ErrorCode;
import io.migtunnel.protocol.Frame;
import io.migtunnel.protocol.FrameDecoder;
import io.migtunnel.protocol.FrameHeaderCodec;
import io.migtunnel.protocol.FrameType;
import io.migtunnel.protocol.GoAwayFrameCodec;
import io.migtunnel.protocol.HelloFrameCodec;
import io.migtunnel.protocol.Limits;
import io.migtunnel.protocol.OpenFrameCodec;
import io.migtunnel.protocol.OpenOkFrameCodec;
import io.migtunnel.protocol.PingFrameCodec;
import io.migtunnel.protocol.ProtocolException;
import io.migtunnel.protocol.ResetFrameCodec;
import io.migtunnel.protocol.ResumeFrameCodec;
import io.migtunnel.protocol.ResumeOkFrameCodec;
import io.migtunnel.protocol.ResumeTable;
import io.migtunnel.protocol.SessionFrameCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.util.concurrent.DefaultEventExecutor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * A {@link Session} fed random frame sequences — well-formed and malformed frames of every type,
 * random stream ids and lengths within each type's bounds, raw garbage — through the frame decoder,
 * the way the transport feeds it: no exception escapes, the session stays open or closes with a
 * GOAWAY (sent, or received from the "peer"), everything it writes is well-formed, and every buffer
 * is released.
 *
 * <p>10,000 tries of up to 16 steps take about 20 s; each run draws a new seed, and jqwik prints
 * the seed of a failure ({@code @Property(seed = "...")} replays it). To search longer, raise
 * {@code tries} locally (1,000,000 ≈ 35 min) and run
 * {@code ./mvnw -pl core test -Dtest=SessionFuzzPropertyTest}; the statistics printed after the run
 * show how many tries ended open, closed by the session's GOAWAY or by the peer's, and how many
 * reached a consumed stream.
 */
class SessionFuzzPropertyTest {
    private static final int WINDOW = Limits.MIN_STREAM_WINDOW;
    private static final int MAX_FRAME = Limits.MIN_FRAME_PAYLOAD;
    private static final ByteBufAllocator ALLOC = ByteBufAllocator.DEFAULT;
    private static DefaultEventExecutor loop;

    @BeforeContainer
    static void startLoop() {
        loop = new DefaultEventExecutor();
    }

    @AfterContainer
    static void stopLoop() throws InterruptedException {
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    /** One step of the peer: a frame of a type, well-formed or with random payload bytes, or garbage. */
    record Step(Kind kind, FrameType type, int flags, int streamId, int length, long seed) {
    }

    enum Kind { WELL_FORMED, RANDOM_PAYLOAD, GARBAGE }

    @Property(tries = 10_000)
    void noExceptionEscapesAndEveryBufferIsReleased(@ForAll boolean client, @ForAll("mostly") boolean helloFirst,
                                                    @ForAll @IntRange(max = 4) int opened,
                                                    @ForAll("steps") List<Step> steps) throws Exception {
        ByteBuf wire = ALLOC.buffer();
        if (helloFirst) {
            append(wire, HelloFrameCodec.encode(ALLOC, Limits.VERSION, WINDOW, MAX_FRAME, 4));
            for (int k = 1; k <= opened; k++) { // valid OPENs first, so that later steps find open streams
                append(wire, OpenFrameCodec.encode(ALLOC, 2 * k - (client ? 0 : 1), "echo"));
            }
        }
        for (Step s : steps) {
            append(wire, encode(s, client));
        }
        Harness h = onLoop(() -> new Harness(client));
        Throwable escaped = onLoop(() -> h.feed(wire));
        assertThat(escaped).as("exception escaping the session").isNull();
        onLoop(() -> null); // the flushes and stream tasks the session queued

        Statistics.collect(onLoop(h::check));
        Statistics.label("streams consumed").collect(onLoop(() -> h.consumers.isEmpty() ? "none" : "some"));
        onLoop(() -> {
            h.session.close("try over");
            return null;
        });
        onLoop(() -> null);
        // The consumers held every buffer they took while the session closed: still theirs, intact.
        onLoop(() -> h.consumers.stream().mapToInt(HoldingConsumer::releaseAll).sum());
        wire.release();
        onLoop(h::releaseOutput);
        assertThat(wire.refCnt()).as("the peer's bytes, once every frame sliced from them is done").isZero();
    }

    /** A session with a sink that records its output, and an acceptor that accepts, resets or ignores. */
    private static final class Harness implements StreamAcceptor {
        final MuxSession session;
        final RecordingSink sink = new RecordingSink();
        final List<HoldingConsumer> consumers = new ArrayList<>();
        final AtomicBoolean closedSignal = new AtomicBoolean();
        boolean goAwayReceived;

        Harness(boolean client) {
            SessionConfig config = SessionConfig.defaults().withStreamWindow(WINDOW).withMaxFramePayload(MAX_FRAME)
                .withMaxConcurrentStreams(4).withHandshakeTimeout(Duration.ofMinutes(5));
            session = new MuxSession(client, config, sink, loop, this, SessionListener.NONE);
            session.onClose().subscribe(null, e -> closedSignal.set(true), () -> closedSignal.set(true));
            session.start();
        }

        /** Decodes and delivers like the transport's codec handler; returns what escaped, if anything. */
        Throwable feed(ByteBuf wire) {
            try {
                while (true) {
                    Frame f;
                    try {
                        f = FrameDecoder.decode(wire, MAX_FRAME);
                    } catch (ProtocolException e) {
                        session.onDecodeError(e);
                        return null;
                    }
                    if (f == null) {
                        return null;
                    }
                    if (f.type() == FrameType.GOAWAY) {
                        goAwayReceived = true;
                    }
                    session.onFrame(f);
                }
            } catch (Throwable t) {
                return t;
            }
        }

        /** Checks the invariants; returns the outcome, for statistics. */
        String check() {
            List<FrameType> out = new ArrayList<>();
            Frame f;
            ByteBuf copy = sink.written.duplicate();
            while ((f = FrameDecoder.decode(copy, Limits.MAX_FRAME_PAYLOAD)) != null) { // throws if malformed
                out.add(f.type());
                f.release();
            }
            assertThat(copy.readableBytes()).as("a partial frame written").isZero();
            assertThat(out).as("output starts with HELLO").first().isEqualTo(FrameType.HELLO);
            assertThat(sink.writeAfterClose).as("write after the sink closed").isFalse();
            assertThat(sink.closed).as("sink closed iff the session closed").isEqualTo(closedSignal.get());
            if (closedSignal.get()) {
                assertThat(out.contains(FrameType.GOAWAY) || goAwayReceived)
                    .as("closed with a GOAWAY sent or received; wrote %s", out).isTrue();
            }
            return !closedSignal.get() ? "open" : out.contains(FrameType.GOAWAY) ? "closed, GOAWAY sent"
                : "closed, GOAWAY received";
        }

        Void releaseOutput() {
            sink.written.release();
            return null;
        }

        @Override
        public void onOpen(MuxStream stream) {
            switch ((stream.id() + 1) / 2 % 3) {
                case 0 -> stream.reset(ErrorCode.REFUSED, "fuzz: refused");
                case 1 -> {
                    HoldingConsumer c = new HoldingConsumer(true);
                    consumers.add(c);
                    stream.inbound().subscribe(c);
                    stream.accept();
                }
                default -> { } // left pending: its buffered DATA must be released on close
            }
        }
    }

    // ---- generators ----

    @Provide
    Arbitrary<Boolean> mostly() {
        return Arbitraries.frequency(Tuple.of(9, true), Tuple.of(1, false));
    }

    /** Mostly well-formed frames of stream types, so that many tries get past the first error. */
    @Provide
    Arbitrary<List<Step>> steps() {
        Arbitrary<Kind> kinds = Arbitraries.frequency(
            Tuple.of(16, Kind.WELL_FORMED), Tuple.of(2, Kind.RANDOM_PAYLOAD), Tuple.of(1, Kind.GARBAGE));
        Arbitrary<FrameType> types = Arbitraries.frequency(
            Tuple.of(1, FrameType.HELLO), Tuple.of(6, FrameType.OPEN), Tuple.of(2, FrameType.OPEN_OK),
            Tuple.of(8, FrameType.DATA), Tuple.of(3, FrameType.CREDIT), Tuple.of(2, FrameType.RESET),
            Tuple.of(2, FrameType.PING), Tuple.of(2, FrameType.PONG), Tuple.of(1, FrameType.GOAWAY));
        Arbitrary<Integer> flags = Arbitraries.frequencyOf(
            Tuple.of(8, Arbitraries.of(0, Frame.FLAG_FIN)),
            Tuple.of(1, Arbitraries.integers().between(0, 255)));
        Arbitrary<Integer> ids = Arbitraries.frequencyOf(
            Tuple.of(2, Arbitraries.just(0)),
            Tuple.of(40, Arbitraries.integers().between(1, 8)),
            Tuple.of(2, Arbitraries.integers().between(1, Integer.MAX_VALUE)),
            Tuple.of(1, Arbitraries.integers().between(Integer.MIN_VALUE, -1))); // above 2^31-1 on the wire
        Arbitrary<Integer> lengths = Arbitraries.frequencyOf(
            Tuple.of(6, Arbitraries.integers().between(0, 64)),
            Tuple.of(3, Arbitraries.integers().between(0, MAX_FRAME)),
            Tuple.of(1, Arbitraries.of(WINDOW / 2, WINDOW, MAX_FRAME + 1)));
        Arbitrary<Step> step = Combinators.combine(kinds, types, flags, ids, lengths, Arbitraries.longs())
            .as(Step::new);
        return step.list().ofMinSize(0).ofMaxSize(16);
    }

    /** The bytes of one step to a session of the given role. */
    private static ByteBuf encode(Step s, boolean client) {
        SplittableRandom r = new SplittableRandom(s.seed());
        return switch (s.kind()) {
            case GARBAGE -> randomBytes(r, 1 + r.nextInt(48));
            case RANDOM_PAYLOAD -> {
                int length = lengthWithinBounds(s.type(), s.length());
                ByteBuf buf = FrameHeaderCodec.encode(ALLOC, s.type(), s.flags(), s.streamId(), length, length);
                buf.writeBytes(randomBytes(r, length).array(), 0, length);
                yield buf;
            }
            case WELL_FORMED -> wellFormed(s, r, client);
        };
    }

    /** Well-formed; small stream ids 1..8 become the k-th id of the peer's parity, so that OPENs can succeed. */
    private static ByteBuf wellFormed(Step s, SplittableRandom r, boolean client) {
        int id = s.streamId() >= 1 && s.streamId() <= 8 ? 2 * s.streamId() - (client ? 0 : 1) : s.streamId();
        return switch (s.type()) {
            case HELLO -> HelloFrameCodec.encode(ALLOC, r.nextInt(8) == 0 ? r.nextInt(4) : Limits.VERSION,
                r.nextInt(8) == 0 ? r.nextInt() : WINDOW + r.nextInt(WINDOW),
                r.nextInt(8) == 0 ? r.nextInt() : MAX_FRAME, r.nextInt(8) == 0 ? r.nextInt() : 1 + r.nextInt(8));
            case OPEN -> OpenFrameCodec.encode(ALLOC, id, List.of("echo", "disk0", "migration", "a/b").get(r.nextInt(4)));
            case OPEN_OK -> OpenOkFrameCodec.encode(ALLOC, id);
            case DATA -> {
                int length = Math.min(s.length(), MAX_FRAME);
                boolean fin = length == 0 || (s.flags() & Frame.FLAG_FIN) != 0;
                yield DataFrameCodec.encode(ALLOC, id, fin, randomBytes(r, length));
            }
            case CREDIT -> {
                long consumed = r.nextInt(4) == 0 ? r.nextLong() : r.nextInt(2 * WINDOW);
                long limit = r.nextInt(4) == 0 ? r.nextLong() : consumed + r.nextInt(2 * WINDOW);
                yield CreditFrameCodec.encode(ALLOC, id, consumed, limit);
            }
            case RESET -> ResetFrameCodec.encode(ALLOC, id, ErrorCode.values()[r.nextInt(ErrorCode.values().length)],
                r.nextInt(4) == 0 ? r.nextLong() : r.nextInt(WINDOW), "fuzz " + r.nextInt());
            case PING -> PingFrameCodec.encodePing(ALLOC, r.nextLong());
            case PONG -> PingFrameCodec.encodePong(ALLOC, r.nextLong());
            // NO_ERROR half the time: the session drains instead of closing at once
            case GOAWAY -> GoAwayFrameCodec.encode(ALLOC,
                r.nextBoolean() ? ErrorCode.NO_ERROR : ErrorCode.values()[r.nextInt(ErrorCode.values().length)],
                r.nextInt(16), "fuzz " + r.nextInt());
            // not negotiated: the session must refuse them like any frame out of place
            case SESSION -> SessionFrameCodec.encode(ALLOC, new byte[32], new byte[16], new byte[32]);
            case RESUME -> ResumeFrameCodec.encode(ALLOC, new byte[16], new byte[32], new byte[32],
                new ResumeTable(id, List.of(new ResumeTable.Entry(Math.max(1, id), 0, r.nextInt(WINDOW), 0))));
            case RESUME_OK -> ResumeOkFrameCodec.encode(ALLOC, new byte[32], new ResumeTable(0, List.of()));
        };
    }

    /** {@code wanted} brought within the lengths the decoder accepts for {@code type}. */
    private static int lengthWithinBounds(FrameType type, int wanted) {
        return switch (type) {
            case HELLO -> 20;
            case OPEN -> 1 + wanted % Limits.MAX_NAME_BYTES;
            case OPEN_OK -> 0;
            case DATA -> wanted; // up to MAX_FRAME + 1: one byte too many is a FRAME_SIZE_ERROR
            case CREDIT -> 16;
            case RESET -> 12 + wanted % (Limits.MAX_MESSAGE_BYTES + 1);
            case PING, PONG -> 8;
            case GOAWAY -> 8 + wanted % (Limits.MAX_MESSAGE_BYTES + 1);
            case SESSION -> 80;
            case RESUME -> 88 + wanted % 64;
            case RESUME_OK -> 40 + wanted % 64;
        };
    }

    private static ByteBuf randomBytes(SplittableRandom r, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) r.nextInt(256);
        }
        return Unpooled.wrappedBuffer(b);
    }

    private static void append(ByteBuf wire, ByteBuf frame) {
        wire.writeBytes(frame);
        frame.release();
    }

    private static <T> T onLoop(Callable<T> task) throws Exception {
        CompletableFuture<T> f = new CompletableFuture<>();
        loop.execute(() -> {
            try {
                f.complete(task.call());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        });
        try {
            return f.get(10, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof AssertionError a) {
                throw a;
            }
            throw e;
        }
    }
}
