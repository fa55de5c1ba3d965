package io.migtunnel.mux.internal;

import io.migtunnel.mux.MuxStream;
import io.migtunnel.mux.Session;
import io.migtunnel.mux.SessionConfig;
import io.migtunnel.mux.SessionListener;
import io.migtunnel.mux.StreamAcceptor;
import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.migtunnel.protocol.ErrorCode;
import io.migtunnel.protocol.Frame;
import io.migtunnel.protocol.FrameDecoder;
import io.migtunnel.protocol.FrameType;
import io.migtunnel.protocol.Limits;
import io.migtunnel.protocol.ProtocolException;
import io.migtunnel.fuzzing.ChunkedWire;
import io.migtunnel.testing.ManualEventExecutor;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Flux;

/**
 * Coverage-guided fuzzing of the {@link Session} state machine: whatever a peer sends, split
 * anywhere, and whatever time passes, no exception escapes; the session stays open or closes with
 * a GOAWAY (sent or received); it writes only well-formed frames, never after closing; its
 * buffered bytes stay within the session buffer limit; and after it closes every buffer is
 * released. Runs on the fuzzing thread with a {@link ManualEventExecutor}: the same input always
 * takes the same path.
 *
 * <p>Input: byte 0 bit 0 = this side is the client, bit 1 = it also opens a stream and sends
 * 96 KiB on it, bit 2 = it shuts down gracefully after the peer's bytes; byte 1 seeds the chunk
 * sizes (0: one chunk); byte 2 = seconds the clock then advances (handshake timeout 10 s,
 * keepalive 5 s); the rest is the peer's bytes. Streams the peer opens are, by id, refused,
 * consumed at once, consumed one buffer per chunk, or left unaccepted. {@code ./mvnw verify}
 * replays the committed corpus ({@code src/test/resources/io/migtunnel/mux/SessionFuzzTestInputs/})
 * and then fuzzes for its {@code maxDuration} (20 s; {@code -Djazzer.max_duration=10m} for longer,
 * see README "Fuzzing").
 */
class SessionFuzzTest {
    private static final int WINDOW = Limits.MIN_STREAM_WINDOW;
    private static final int MAX_FRAME = Limits.MIN_FRAME_PAYLOAD;
    /** Four streams allowed, but buffer room for three: both limits are reachable. */
    static final SessionConfig CONFIG = SessionConfig.defaults().withStreamWindow(WINDOW).withMaxFramePayload(MAX_FRAME)
        .withMaxConcurrentStreams(4).withMaxSessionBuffered(3L * WINDOW);

    @FuzzTest(maxDuration = "20s")
    void anyPeerEndsOpenOrWithGoAwayAndReleasesEverything(byte[] input) {
        if (input.length < 3) {
            return;
        }
        ManualEventExecutor loop = new ManualEventExecutor();
        Harness h = new Harness((input[0] & 1) != 0, loop);
        if ((input[0] & 2) != 0) {
            h.openAndSend();
        }
        ByteBuf wire = ChunkedWire.copyOf(input, 3);
        ChunkedWire.feed(wire, input[1] & 0xFF, MAX_FRAME, h);
        loop.runPending();
        if ((input[0] & 4) != 0) {
            h.session.shutdown(Duration.ofSeconds(5)).subscribe();
        }
        loop.advance(Duration.ofSeconds(input[2] & 0xFF));
        h.checkOutput();

        h.session.close("fuzz input over");
        loop.runPending();
        assertThat(h.session.bufferedBytes()).as("buffered after close").isZero();
        assertThat(h.session.reservedBytes()).as("reserved after close").isZero();
        // The consumers held the last chunk's buffers while the session died: still theirs, intact.
        h.consumers.forEach(HoldingConsumer::releaseAll);
        h.sink.written.release();
        assertThat(wire.release()).as("every frame sliced from the peer's bytes released").isTrue();
        loop.shutdownGracefully();
    }

    /** The session under test, its recorded output, and the peer-facing side of the fuzz input. */
    private static final class Harness implements StreamAcceptor, ChunkedWire.Receiver {
        final MuxSession session;
        final RecordingSink sink = new RecordingSink();
        final List<HoldingConsumer> consumers = new ArrayList<>();
        boolean closed;
        boolean goAwayReceived;

        Harness(boolean client, ManualEventExecutor loop) {
            session = new MuxSession(client, CONFIG, sink, loop, this, SessionListener.NONE);
            session.useClock(loop::now); // so that advancing the loop can reach the keepalive timeout
            session.onClose().subscribe(null, e -> closed = true, () -> closed = true);
            session.start();
        }

        /** A local stream, opened once the peer's HELLO arrives, sending 96 KiB (more than one window). */
        void openAndSend() {
            session.open("fuzz").subscribe(stream -> {
                stream.send(Flux.range(0, 6).map(i -> ByteBufAllocator.DEFAULT.buffer(16384).writeZero(16384)))
                    .subscribe(null, e -> { });
                consume(stream, false);
            }, e -> { });
        }

        private void consume(MuxStream stream, boolean unbounded) {
            HoldingConsumer c = new HoldingConsumer(unbounded);
            consumers.add(c);
            stream.inbound().subscribe(c);
            stream.accept();
        }

        @Override
        public void onFrame(Frame frame) {
            goAwayReceived |= frame.type() == FrameType.GOAWAY;
            session.onFrame(frame);
        }

        @Override
        public void onDecodeError(ProtocolException e) {
            session.onDecodeError(e);
        }

        @Override
        public void afterChunk() {
            ((ManualEventExecutor) session.loop()).runPending(); // a read completes: queued tasks run
            for (HoldingConsumer c : consumers) {
                c.afterChunk();
            }
            assertThat(session.bufferedBytes()).as("buffered").isLessThanOrEqualTo(CONFIG.maxSessionBuffered())
                .isLessThanOrEqualTo(session.reservedBytes());
            assertThat(session.reservedBytes()).as("reserved").isLessThanOrEqualTo(CONFIG.maxSessionBuffered());
        }

        @Override
        public void onOpen(MuxStream stream) {
            switch ((stream.id() + 1) / 2 % 4) {
                case 0 -> stream.reset(ErrorCode.REFUSED, "fuzz: refused");
                case 1 -> consume(stream, true);
                case 2 -> consume(stream, false);
                default -> { } // never accepted: its DATA stays buffered until close
            }
        }

        /** Output: HELLO first, whole frames only, nothing after close, closed only with a GOAWAY. */
        void checkOutput() {
            List<FrameType> out = new ArrayList<>();
            ByteBuf copy = sink.written.duplicate();
            Frame f;
            while ((f = FrameDecoder.decode(copy, Limits.MAX_FRAME_PAYLOAD)) != null) { // throws if malformed
                out.add(f.type());
                f.release();
            }
            assertThat(copy.readableBytes()).as("a partial frame written").isZero();
            assertThat(out).as("output starts with HELLO").first().isEqualTo(FrameType.HELLO);
            assertThat(sink.writeAfterClose).as("write after the sink closed").isFalse();
            assertThat(sink.closed).as("sink closed iff the session closed").isEqualTo(closed);
            if (closed) {
                assertThat(out.contains(FrameType.GOAWAY) || goAwayReceived)
                    .as("closed with a GOAWAY sent or received; wrote %s", out).isTrue();
            }
        }
    }
}
