package io.migtunnel.mux.internal;

import io.migtunnel.mux.MuxStream;
import io.migtunnel.mux.SessionConfig;
import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.protocol.CreditFrameCodec;
import io.migtunnel.protocol.DataFrameCodec;
import io.migtunnel.protocol.ErrorCode;
import io.migtunnel.protocol.Frame;
import io.migtunnel.protocol.FrameType;
import io.migtunnel.protocol.GoAwayFrameCodec;
import io.migtunnel.protocol.OpenFrameCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.BaseSubscriber;

/**
 * The session alone, driven frame by frame through an in-memory sink: credit is returned only for
 * bytes the local consumer has requested, and only in half-window steps; streams beyond the
 * limit are refused one by one, and hold no memory.
 */
class SessionCreditTest {
    private static final int WINDOW = 65536;
    private static final int MAX_STREAMS = 8;
    private final ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;
    private SessionDriver driver;
    private final List<MuxStream> accepted = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        driver = new SessionDriver(SessionConfig.defaults().withStreamWindow(WINDOW)
            .withMaxConcurrentStreams(MAX_STREAMS), SessionDriver.hello(WINDOW));
        feed(OpenFrameCodec.encode(alloc, 1, "disk"));
        accepted.addAll(onLoop(() -> List.copyOf(driver.accepted)));
    }

    @AfterEach
    void stop() throws Exception {
        driver.close();
    }

    private <T> T onLoop(Callable<T> task) throws Exception {
        return driver.onLoop(task);
    }

    private void feed(ByteBuf bytes) throws Exception {
        driver.feed(bytes);
    }

    private List<Frame> frames() throws Exception {
        return driver.frames();
    }

    private static long creditsIn(List<Frame> frames) {
        return frames.stream().filter(f -> f.type() == FrameType.CREDIT).count();
    }

    private void data(int bytes) throws Exception {
        feed(DataFrameCodec.encode(alloc, 1, false, Unpooled.wrappedBuffer(new byte[bytes])));
    }

    /** A consumer that requests only when told to. */
    private static final class ManualConsumer extends BaseSubscriber<ByteBuf> {
        long received;

        @Override
        protected void hookOnSubscribe(org.reactivestreams.Subscription s) {
        }

        @Override
        protected void hookOnNext(ByteBuf value) {
            received += value.readableBytes();
            value.release();
        }
    }

    @Test
    void creditFollowsConsumptionNotReception() throws Exception {
        MuxStream stream = onLoop(() -> accepted.get(0));
        ManualConsumer consumer = new ManualConsumer();
        stream.inbound().subscribe(consumer);
        stream.accept();

        // The whole window arrives; nobody has consumed: no credit.
        for (int i = 0; i < 4; i++) {
            data(WINDOW / 4);
        }
        List<Frame> out = frames();
        assertThat(creditsIn(out)).isZero();
        out.forEach(Frame::release);
        assertThat(onLoop(driver.session::bufferedBytes)).isEqualTo(WINDOW);

        // One quarter consumed: still below half a window, no credit.
        consumer.request(1);
        out = frames();
        assertThat(creditsIn(out)).isZero();
        out.forEach(Frame::release);

        // Half consumed: one CREDIT reporting exactly what was consumed, limit = consumed + window.
        consumer.request(1);
        out = frames();
        List<Frame> credits = out.stream().filter(f -> f.type() == FrameType.CREDIT).toList();
        assertThat(credits).hasSize(1);
        assertThat(CreditFrameCodec.consumed(credits.get(0).payload())).isEqualTo(WINDOW / 2);
        assertThat(CreditFrameCodec.limit(credits.get(0).payload())).isEqualTo(WINDOW / 2 + WINDOW);
        out.forEach(Frame::release);
        assertThat(consumer.received).isEqualTo(WINDOW / 2);
        consumer.dispose();
    }

    @Test
    void oneByteBeyondTheGrantIsAFlowControlError() throws Exception {
        data(WINDOW);
        data(1);
        List<Frame> out = frames();
        Frame goAway = out.stream().filter(f -> f.type() == FrameType.GOAWAY).findFirst().orElseThrow();
        assertThat(GoAwayFrameCodec.code(goAway.payload())).isEqualTo(ErrorCode.FLOW_CONTROL_ERROR.code());
        out.forEach(Frame::release);
        assertThat(onLoop(() -> driver.sink.closed)).isTrue();
        assertThat(onLoop(driver.session::bufferedBytes)).as("buffers released on failure").isZero();
        assertThat(driver.session.onClose().onErrorResume(e -> reactor.core.publisher.Mono.empty())
            .block(Duration.ofSeconds(5))).isNull();
    }

    @Test
    void openingStreamsPastTheLimitGetsRefusalsNotMemory() throws Exception {
        // Stream 1 is open already; the peer opens 1,000 more, each followed by 4 KiB of DATA.
        int refusedExpected = 0;
        for (int i = 0; i < 1000; i++) {
            int id = 3 + 2 * i;
            feed(Unpooled.wrappedBuffer(OpenFrameCodec.encode(alloc, id, "disk"),
                DataFrameCodec.encode(alloc, id, false, Unpooled.wrappedBuffer(new byte[4096]))));
            refusedExpected += i + 1 >= MAX_STREAMS ? 1 : 0;
        }
        List<Frame> out = frames();
        long refused = out.stream().filter(f -> f.type() == FrameType.RESET
            && io.migtunnel.protocol.ResetFrameCodec.code(f.payload()) == ErrorCode.REFUSED.code()).count();
        boolean goAway = out.stream().anyMatch(f -> f.type() == FrameType.GOAWAY);
        out.forEach(Frame::release);
        assertThat(refused).as("one RESET REFUSED per stream beyond the limit").isEqualTo(refusedExpected);
        assertThat(goAway).as("refusing streams is not a connection error").isFalse();
        assertThat(onLoop(driver.session::activeStreams)).isEqualTo(MAX_STREAMS);
        assertThat(onLoop(driver.session::bufferedBytes)).as("only admitted streams hold data")
            .isEqualTo((long) (MAX_STREAMS - 1) * 4096);
        assertThat(onLoop(() -> driver.sink.closed)).isFalse();
    }
}
