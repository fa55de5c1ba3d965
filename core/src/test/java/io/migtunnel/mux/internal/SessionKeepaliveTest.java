package io.migtunnel.mux.internal;

import io.migtunnel.mux.SessionClosedException;
import io.migtunnel.mux.SessionConfig;
import io.migtunnel.mux.SessionListener;
import io.migtunnel.mux.StreamAcceptor;
import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.protocol.ErrorCode;
import io.migtunnel.protocol.Frame;
import io.migtunnel.protocol.FrameDecoder;
import io.migtunnel.protocol.FrameType;
import io.migtunnel.protocol.HelloFrameCodec;
import io.migtunnel.protocol.Limits;
import io.migtunnel.protocol.PingFrameCodec;
import io.migtunnel.testing.ManualEventExecutor;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Keepalive on a loop whose clock the test moves: pings on the interval, a silent peer times out. */
class SessionKeepaliveTest {
    private static final SessionConfig CONFIG = SessionConfig.defaults()
        .withKeepalive(Duration.ofSeconds(5), Duration.ofSeconds(20));
    private final ManualEventExecutor loop = new ManualEventExecutor();
    private final RecordingSink sink = new RecordingSink();
    private MuxSession session;
    private final List<Throwable> ended = new ArrayList<>();

    @BeforeEach
    void handshake() {
        session = new MuxSession(true, CONFIG, sink, loop, StreamAcceptor.REFUSE_ALL, SessionListener.NONE);
        session.useClock(loop::now);
        session.onClose().subscribe(null, ended::add, () -> ended.add(null));
        session.start();
        deliver(HelloFrameCodec.encode(ByteBufAllocator.DEFAULT, Limits.VERSION, CONFIG.streamWindow(),
            CONFIG.maxFramePayload(), CONFIG.maxConcurrentStreams()));
    }

    @AfterEach
    void release() {
        session.close("test over");
        loop.runPending();
        sink.written.release();
        loop.shutdownGracefully();
    }

    private void deliver(ByteBuf bytes) {
        Frame frame;
        while ((frame = FrameDecoder.decode(bytes, CONFIG.maxFramePayload())) != null) {
            session.onFrame(frame);
        }
        bytes.release();
        loop.runPending();
    }

    private List<FrameType> written() {
        return sink.writtenTypes(CONFIG.maxFramePayload());
    }

    @Test
    void aPeerThatAnswersStaysUp() {
        for (int i = 0; i < 10; i++) {
            loop.advance(Duration.ofSeconds(5));
            deliver(PingFrameCodec.encodePong(ByteBufAllocator.DEFAULT, loop.now()));
        }
        assertThat(ended).isEmpty();
        assertThat(written()).filteredOn(t -> t == FrameType.PING).hasSize(10);
    }

    @Test
    void aSilentPeerIsDroppedWithKeepaliveTimeoutAfterTheTimeoutNotBefore() {
        loop.advance(Duration.ofSeconds(20));
        assertThat(ended).as("at 20 s: not yet").isEmpty();
        loop.advance(Duration.ofSeconds(5));
        assertThat(ended).singleElement().satisfies(e ->
            assertThat(((SessionClosedException) e).code()).isEqualTo(ErrorCode.KEEPALIVE_TIMEOUT));
        assertThat(written()).endsWith(FrameType.GOAWAY).contains(FrameType.PING);
    }
}
