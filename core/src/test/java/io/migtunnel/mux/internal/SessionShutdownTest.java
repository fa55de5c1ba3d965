package io.migtunnel.mux.internal;

import io.migtunnel.mux.Session;
import io.migtunnel.mux.SessionConfig;
import io.migtunnel.mux.SessionListener;
import io.migtunnel.mux.StreamAcceptor;
import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.protocol.Frame;
import io.migtunnel.protocol.FrameDecoder;
import io.migtunnel.protocol.FrameType;
import io.migtunnel.protocol.HelloFrameCodec;
import io.migtunnel.protocol.Limits;
import io.migtunnel.testing.ManualEventExecutor;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link Session#shutdown}: nothing happens until it is subscribed, and its drain timer ends with the session. */
class SessionShutdownTest {
    private static final SessionConfig CONFIG = SessionConfig.defaults();
    private final ManualEventExecutor loop = new ManualEventExecutor();
    private final RecordingSink sink = new RecordingSink();
    private MuxSession session;

    @BeforeEach
    void handshake() {
        session = new MuxSession(true, CONFIG, sink, loop, StreamAcceptor.REFUSE_ALL, SessionListener.NONE);
        session.start();
        ByteBuf hello = HelloFrameCodec.encode(ByteBufAllocator.DEFAULT, Limits.VERSION, CONFIG.streamWindow(),
            CONFIG.maxFramePayload(), CONFIG.maxConcurrentStreams());
        session.onFrame(FrameDecoder.decode(hello, CONFIG.maxFramePayload()));
        hello.release();
        loop.runPending();
    }

    @AfterEach
    void release() {
        session.close("test over");
        loop.runPending();
        sink.written.release();
        loop.shutdownGracefully();
    }

    @Test
    void aShutdownThatIsNotSubscribedDoesNothing() {
        session.shutdown(Duration.ofSeconds(30));
        loop.runPending();
        assertThat(written()).doesNotContain(FrameType.GOAWAY);
    }

    @Test
    void aSubscribedShutdownOfAnIdleSessionClosesAtOnceAndLeavesNoTimerBehind() {
        List<String> done = new ArrayList<>();
        session.shutdown(Duration.ofSeconds(30)).subscribe(null, e -> done.add("error"), () -> done.add("closed"));
        loop.runPending();
        assertThat(written()).endsWith(FrameType.GOAWAY);
        assertThat(done).containsExactly("closed");
        assertThat(loop.hasWaitingScheduledTasks()).as("a timer (the drain's) still scheduled after the close").isFalse();
    }

    private List<FrameType> written() {
        return sink.writtenTypes(CONFIG.maxFramePayload());
    }
}
