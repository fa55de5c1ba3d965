package io.migtunnel.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.arbitraries.StringArbitrary;

/**
 * Properties of {@link FrameDecoder} fed through a cumulation loop, the way a channel handler
 * uses it: any sequence of valid frames, cut into any chunks, comes out unchanged and in order,
 * with every buffer released; and garbage input never produces anything but frames, "need more
 * bytes" or a {@link ProtocolException}.
 */
class FrameSequencePropertyTest {
    private static final ByteBufAllocator ALLOC = UnpooledByteBufAllocator.DEFAULT;
    private static final int MAX_PAYLOAD = 16_384;

    // ---- property 1: valid sequences, arbitrary chunking ----

    @Property(tries = 1000)
    void framesSurviveArbitraryChunking(@ForAll("frameSequences") List<Spec> specs,
                                        @ForAll("chunkSizes") List<Integer> chunkSizes) {
        List<ByteBuf> allocated = new ArrayList<>();
        ByteBuf wire = ALLOC.heapBuffer();
        allocated.add(wire);
        for (Spec spec : specs) {
            ByteBuf encoded = spec.encode(ALLOC, allocated);
            allocated.add(encoded);
            wire.writeBytes(encoded);
            encoded.release();
        }

        List<Frame> decoded = new ArrayList<>();
        ByteBuf cumulation = null;
        int pos = 0;
        for (int chunk = 0; pos < wire.writerIndex(); chunk++) {
            int n = Math.min(chunkSizes.get(chunk % chunkSizes.size()), wire.writerIndex() - pos);
            if (cumulation == null) {
                cumulation = ALLOC.heapBuffer(n);
                allocated.add(cumulation);
            } else if (!cumulation.isReadable()) {
                cumulation.release(); // decoded payload slices keep it alive until they are released
                cumulation = ALLOC.heapBuffer(n);
                allocated.add(cumulation);
            } else if (cumulation.refCnt() > 1) {
                // Payload slices still point into it: never compact it, copy the unread tail away.
                ByteBuf next = ALLOC.heapBuffer(cumulation.readableBytes() + n);
                allocated.add(next);
                next.writeBytes(cumulation);
                cumulation.release();
                cumulation = next;
            }
            cumulation.writeBytes(wire, pos, n);
            pos += n;
            for (Frame f; (f = FrameDecoder.decode(cumulation, MAX_PAYLOAD)) != null; ) {
                decoded.add(f);
            }
        }

        try {
            assertThat(decoded).hasSameSizeAs(specs);
            for (int i = 0; i < specs.size(); i++) {
                specs.get(i).check(decoded.get(i));
            }
            if (cumulation != null) {
                assertThat(cumulation.isReadable()).as("bytes left over").isFalse();
            }
        } finally {
            decoded.forEach(Frame::release);
            if (cumulation != null) {
                cumulation.release();
            }
            wire.release();
        }
        for (ByteBuf b : allocated) {
            assertThat(b.refCnt()).as("refCnt of %s", b).isZero();
        }
    }

    @Provide
    Arbitrary<List<Spec>> frameSequences() {
        return anyFrame().list().ofMinSize(1).ofMaxSize(20);
    }

    @Provide
    Arbitrary<List<Integer>> chunkSizes() {
        return Arbitraries.integers().between(1, 2048).list().ofMinSize(1).ofMaxSize(30);
    }

    static Arbitrary<Spec> anyFrame() {
        Arbitrary<Integer> streamId = Arbitraries.integers().between(1, Integer.MAX_VALUE);
        Arbitrary<Spec> hello = Combinators.combine(
                Arbitraries.integers().between(Limits.MIN_STREAM_WINDOW, Integer.MAX_VALUE),
                Arbitraries.integers().between(Limits.MIN_FRAME_PAYLOAD, Limits.MAX_FRAME_PAYLOAD),
                Arbitraries.integers().between(1, Integer.MAX_VALUE))
            .as(Hello::new);
        Arbitrary<Spec> open = Combinators.combine(streamId, validNames()).as(Open::new);
        Arbitrary<Spec> openOk = streamId.map(OpenOk::new);
        Arbitrary<Spec> data = Combinators.combine(streamId, Arbitraries.integers().between(0, 4096),
                Arbitraries.longs(), Arbitraries.of(true, false))
            .as((id, length, seed, fin) -> new Data(id, fin || length == 0, randomBytes(length, seed)));
        Arbitrary<Spec> credit = Combinators.combine(streamId, Arbitraries.longs(), Arbitraries.longs())
            .as(Credit::new);
        Arbitrary<Spec> reset = Combinators.combine(streamId, Arbitraries.of(ErrorCode.class), Arbitraries.longs(),
                messages())
            .as(Reset::new);
        Arbitrary<Spec> ping = Combinators.combine(Arbitraries.of(true, false), Arbitraries.longs()).as(Ping::new);
        Arbitrary<Spec> goAway = Combinators.combine(Arbitraries.of(ErrorCode.class),
                Arbitraries.integers().between(0, Integer.MAX_VALUE), messages())
            .as(GoAway::new);
        return Arbitraries.oneOf(hello, open, openOk, data, credit, reset, ping, goAway);
    }

    static Arbitrary<String> validNames() {
        return Arbitraries.strings().withCharRange('!', '~').ofMinLength(1).ofMaxLength(255)
            .filter(n -> StreamNames.problem(n) == null);
    }

    /** UTF-8 messages of up to 300 characters (at most 900 bytes, so never cut). */
    static StringArbitrary messages() {
        return Arbitraries.strings().withCharRange(' ', '~').withCharRange('\u00e0', '\u00ff')
            .withCharRange('\u4e00', '\u9fa5').ofMaxLength(300);
    }

    static byte[] randomBytes(int length, long seed) {
        byte[] b = new byte[length];
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < length; i++) {
            b[i] = (byte) r.nextInt(256);
        }
        return b;
    }

    // ---- property 2: garbage ----

    @Property(tries = 1000)
    void garbageYieldsFramesNullOrProtocolException(@ForAll("garbage") byte[] bytes) {
        ByteBuf in = ALLOC.heapBuffer(bytes.length).writeBytes(bytes);
        List<Frame> frames = new ArrayList<>();
        try {
            for (Frame f; (f = FrameDecoder.decode(in, MAX_PAYLOAD)) != null; ) {
                frames.add(f);
                // readRetainedSlice only: the payload is a view of the input, never a copy.
                assertThat(f.payload().hasArray()).isTrue();
                assertThat(f.payload().array()).isSameAs(in.array());
                readFields(f);
            }
        } catch (ProtocolException e) {
            assertThat(e.code()).isNotNull();
            assertThat(e.getMessage()).isNotBlank();
        }
        // Anything else (IndexOutOfBounds, IllegalArgument, ...) escapes and fails the property.
        try {
            assertThat(in.refCnt()).isEqualTo(1 + frames.size());
            long consumed = frames.stream().mapToLong(f -> Limits.HEADER_LENGTH + f.payload().readableBytes()).sum();
            assertThat(consumed).isLessThanOrEqualTo(bytes.length);
        } finally {
            frames.forEach(Frame::release);
            in.release();
        }
        assertThat(in.refCnt()).isZero();
    }

    /** Runs every payload reader; only {@link ProtocolException} may come out. */
    private static void readFields(Frame f) {
        ByteBuf p = f.payload();
        try {
            switch (f.type()) {
                case HELLO -> HelloFrameCodec.decode(p);
                case OPEN -> OpenFrameCodec.name(p);
                case CREDIT -> {
                    CreditFrameCodec.consumed(p);
                    CreditFrameCodec.limit(p);
                }
                case RESET -> {
                    ErrorCode.describe(ResetFrameCodec.code(p));
                    ResetFrameCodec.finalOffset(p);
                    ResetFrameCodec.message(p);
                }
                case PING, PONG -> PingFrameCodec.opaque(p);
                case GOAWAY -> {
                    ErrorCode.describe(GoAwayFrameCodec.code(p));
                    GoAwayFrameCodec.lastStreamId(p);
                    GoAwayFrameCodec.message(p);
                }
                case OPEN_OK, DATA -> {
                }
            }
        } catch (ProtocolException expected) {
            assertThat(expected.code()).isIn(ErrorCode.PROTOCOL_ERROR, ErrorCode.UNSUPPORTED_VERSION);
        }
    }

    @Provide
    Arbitrary<byte[]> garbage() {
        Arbitrary<byte[]> random = Arbitraries.bytes().array(byte[].class).ofMaxSize(256);
        // A plausible header (known type, small length, valid-ish stream id) followed by random bytes,
        // so that the later checks are reached too.
        Arbitrary<byte[]> headerShaped = Combinators.combine(
                Arbitraries.integers().between(0, 9),
                Arbitraries.integers().between(0, 255),
                Arbitraries.of(0L, 1L, 2L, 3L, 0x7FFF_FFFFL, 0x8000_0000L),
                Arbitraries.integers().between(0, 40),
                Arbitraries.bytes().array(byte[].class).ofMaxSize(244))
            .as((type, flags, stream, length, rest) -> {
                byte[] b = new byte[12 + rest.length];
                b[0] = type.byteValue();
                b[1] = flags.byteValue();
                putInt(b, 4, stream);
                putInt(b, 8, length);
                System.arraycopy(rest, 0, b, 12, rest.length);
                return b;
            });
        // Valid frames with one byte overwritten, cut to 256 bytes.
        Arbitrary<byte[]> mutated = Combinators.combine(
                anyFrame().filter(s -> !(s instanceof Data d) || d.payload().length < 200).list().ofMaxSize(4),
                Arbitraries.integers().between(0, 255), Arbitraries.integers().between(0, 255))
            .as((specs, at, value) -> {
                ByteBuf wire = ALLOC.heapBuffer();
                List<ByteBuf> scratch = new ArrayList<>();
                for (Spec s : specs) {
                    ByteBuf e = s.encode(ALLOC, scratch);
                    wire.writeBytes(e);
                    e.release();
                }
                byte[] b = ByteBufUtil.getBytes(wire, 0, Math.min(wire.readableBytes(), 256));
                wire.release();
                if (b.length > 0) {
                    b[at % b.length] = value.byteValue();
                }
                return b;
            });
        return Arbitraries.oneOf(random, headerShaped, mutated);
    }

    private static void putInt(byte[] b, int at, long v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
    }

    // ---- the frame model ----

    /** A frame to generate: encodes itself with the codecs and checks a decoded frame against itself. */
    sealed interface Spec permits Hello, Open, OpenOk, Data, Credit, Reset, Ping, GoAway {
        /** Encodes; any buffer the test allocates for it is added to {@code allocated}. */
        ByteBuf encode(ByteBufAllocator alloc, List<ByteBuf> allocated);

        void check(Frame f);
    }

    record Hello(int window, int maxFrame, int maxStreams) implements Spec {
        public ByteBuf encode(ByteBufAllocator alloc, List<ByteBuf> allocated) {
            return HelloFrameCodec.encode(alloc, Limits.VERSION, window, maxFrame, maxStreams);
        }

        public void check(Frame f) {
            assertThat(f.type()).isEqualTo(FrameType.HELLO);
            assertThat(f.streamId()).isZero();
            assertThat(HelloFrameCodec.decode(f.payload()))
                .isEqualTo(new HelloFrameCodec.PeerLimits(window, maxFrame, maxStreams));
        }
    }

    record Open(int streamId, String name) implements Spec {
        public ByteBuf encode(ByteBufAllocator alloc, List<ByteBuf> allocated) {
            return OpenFrameCodec.encode(alloc, streamId, name);
        }

        public void check(Frame f) {
            assertThat(f.type()).isEqualTo(FrameType.OPEN);
            assertThat(f.streamId()).isEqualTo(streamId);
            assertThat(OpenFrameCodec.name(f.payload())).isEqualTo(name);
        }
    }

    record OpenOk(int streamId) implements Spec {
        public ByteBuf encode(ByteBufAllocator alloc, List<ByteBuf> allocated) {
            return OpenOkFrameCodec.encode(alloc, streamId);
        }

        public void check(Frame f) {
            assertThat(f.type()).isEqualTo(FrameType.OPEN_OK);
            assertThat(f.streamId()).isEqualTo(streamId);
            assertThat(f.payload().readableBytes()).isZero();
        }
    }

    record Data(int streamId, boolean fin, byte[] payload) implements Spec {
        public ByteBuf encode(ByteBufAllocator alloc, List<ByteBuf> allocated) {
            ByteBuf p = alloc.heapBuffer(payload.length).writeBytes(payload);
            allocated.add(p);
            return DataFrameCodec.encode(alloc, streamId, fin, p);
        }

        public void check(Frame f) {
            assertThat(f.type()).isEqualTo(FrameType.DATA);
            assertThat(f.streamId()).isEqualTo(streamId);
            assertThat(f.fin()).isEqualTo(fin);
            assertThat(ByteBufUtil.getBytes(f.payload())).isEqualTo(payload);
        }

        @Override
        public String toString() {
            return "Data[streamId=" + streamId + ", fin=" + fin + ", length=" + payload.length + "]";
        }
    }

    record Credit(int streamId, long consumed, long limit) implements Spec {
        public ByteBuf encode(ByteBufAllocator alloc, List<ByteBuf> allocated) {
            return CreditFrameCodec.encode(alloc, streamId, consumed, limit);
        }

        public void check(Frame f) {
            assertThat(f.type()).isEqualTo(FrameType.CREDIT);
            assertThat(f.streamId()).isEqualTo(streamId);
            assertThat(CreditFrameCodec.consumed(f.payload())).isEqualTo(consumed);
            assertThat(CreditFrameCodec.limit(f.payload())).isEqualTo(limit);
        }
    }

    record Reset(int streamId, ErrorCode code, long finalOffset, String message) implements Spec {
        public ByteBuf encode(ByteBufAllocator alloc, List<ByteBuf> allocated) {
            return ResetFrameCodec.encode(alloc, streamId, code, finalOffset, message);
        }

        public void check(Frame f) {
            assertThat(f.type()).isEqualTo(FrameType.RESET);
            assertThat(f.streamId()).isEqualTo(streamId);
            assertThat(ResetFrameCodec.code(f.payload())).isEqualTo(code.code());
            assertThat(ResetFrameCodec.finalOffset(f.payload())).isEqualTo(finalOffset);
            assertThat(ResetFrameCodec.message(f.payload())).isEqualTo(message);
        }
    }

    record Ping(boolean pong, long opaque) implements Spec {
        public ByteBuf encode(ByteBufAllocator alloc, List<ByteBuf> allocated) {
            return pong ? PingFrameCodec.encodePong(alloc, opaque) : PingFrameCodec.encodePing(alloc, opaque);
        }

        public void check(Frame f) {
            assertThat(f.type()).isEqualTo(pong ? FrameType.PONG : FrameType.PING);
            assertThat(f.streamId()).isZero();
            assertThat(PingFrameCodec.opaque(f.payload())).isEqualTo(opaque);
        }
    }

    record GoAway(ErrorCode code, int lastStreamId, String message) implements Spec {
        public ByteBuf encode(ByteBufAllocator alloc, List<ByteBuf> allocated) {
            return GoAwayFrameCodec.encode(alloc, code, lastStreamId, message);
        }

        public void check(Frame f) {
            assertThat(f.type()).isEqualTo(FrameType.GOAWAY);
            assertThat(f.streamId()).isZero();
            assertThat(GoAwayFrameCodec.code(f.payload())).isEqualTo(code.code());
            assertThat(GoAwayFrameCodec.lastStreamId(f.payload())).isEqualTo(lastStreamId);
            assertThat(GoAwayFrameCodec.message(f.payload())).isEqualTo(message);
        }
    }
}
