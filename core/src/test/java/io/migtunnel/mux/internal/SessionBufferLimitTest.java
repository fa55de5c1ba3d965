package io.migtunnel.mux.internal;

import io.migtunnel.mux.MuxStream;
import io.migtunnel.mux.SessionClosedException;
import io.migtunnel.mux.SessionConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.migtunnel.protocol.DataFrameCodec;
import io.migtunnel.protocol.ErrorCode;
import io.migtunnel.protocol.Frame;
import io.migtunnel.protocol.FrameType;
import io.migtunnel.protocol.GoAwayFrameCodec;
import io.migtunnel.protocol.OpenFrameCodec;
import io.migtunnel.protocol.ResetFrameCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;

/**
 * The session buffer limit ({@link SessionConfig#maxSessionBuffered()}): every open stream
 * reserves one window of it until its inbound direction finishes, a stream that finds no room is
 * refused on its own, and DATA beyond the limit is a connection error naming it.
 */
class SessionBufferLimitTest {
    private static final int WINDOW = 65536;
    private SessionDriver driver;

    @AfterEach
    void stop() throws Exception {
        if (driver != null) {
            driver.close();
        }
    }

    private void start(long maxSessionBuffered) throws Exception {
        driver = new SessionDriver(SessionConfig.defaults().withStreamWindow(WINDOW).withMaxConcurrentStreams(8)
            .withMaxSessionBuffered(maxSessionBuffered), SessionDriver.hello(WINDOW));
    }

    private static ByteBuf data(int id, int bytes, boolean fin) {
        return DataFrameCodec.encode(SessionDriver.ALLOC, id, fin, Unpooled.wrappedBuffer(new byte[bytes]));
    }

    private static ByteBuf open(int id) {
        return OpenFrameCodec.encode(SessionDriver.ALLOC, id, "disk");
    }

    private static String resetMessage(List<Frame> resets, int id) {
        Frame reset = resets.stream().filter(f -> f.streamId() == id).findFirst().orElseThrow();
        assertThat(ResetFrameCodec.code(reset.payload())).isEqualTo(ErrorCode.REFUSED.code());
        return ResetFrameCodec.message(reset.payload());
    }

    @Test
    void defaultIsStreamsTimesWindowAndNeverBelowOneWindow() {
        SessionConfig config = SessionConfig.defaults();
        assertThat(config.maxSessionBuffered())
            .isEqualTo((long) config.maxConcurrentStreams() * config.streamWindow())
            .isEqualTo(2L << 30);
        assertThat(config.withMaxConcurrentStreams(4).withStreamWindow(WINDOW).maxSessionBuffered())
            .as("derived while not set").isEqualTo(4L * WINDOW);
        assertThat(config.withStreamWindow(WINDOW).withMaxSessionBuffered(WINDOW).maxSessionBuffered()).isEqualTo(WINDOW);
        assertThatThrownBy(() -> config.withStreamWindow(WINDOW).withMaxSessionBuffered(WINDOW - 1))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least one stream window (65536");
    }

    @Test
    void streamsBeyondTheBudgetAreRefusedOneByOneAndHoldNothing() throws Exception {
        start(2L * WINDOW + WINDOW / 2); // room for two windows
        driver.feed(Unpooled.wrappedBuffer(open(1), open(3), open(5), data(5, 4096, false)));

        List<Frame> resets = driver.framesOf(FrameType.RESET);
        assertThat(resets).extracting(Frame::streamId).containsExactly(5);
        assertThat(resetMessage(resets, 5)).isEqualTo("session buffer limit 163840 reached: 131072 bytes reserved "
            + "by open streams, a stream needs 65536");
        resets.forEach(Frame::release);
        assertThat(driver.onLoop(driver.session::activeStreams)).isEqualTo(2);
        assertThat(driver.onLoop(driver.session::reservedBytes)).isEqualTo(2L * WINDOW);
        assertThat(driver.onLoop(driver.session::bufferedBytes)).as("the refused stream's DATA is dropped").isZero();
        assertThat(driver.onLoop(() -> driver.sink.closed)).as("refusing a stream is not a connection error").isFalse();
    }

    @Test
    void finishedInboundKeepsOnlyWhatIsBufferedAndClosedStreamsReturnTheirWindow() throws Exception {
        start(2L * WINDOW);
        driver.feed(Unpooled.wrappedBuffer(open(1), open(3), data(1, 1000, true)));
        // Stream 1 is still open (this side has not finished sending) but its peer is done:
        // it keeps the 1000 unread bytes of its window, not the whole window.
        assertThat(driver.onLoop(driver.session::reservedBytes)).isEqualTo(WINDOW + 1000L);
        driver.feed(open(5));
        List<Frame> resets = driver.framesOf(FrameType.RESET);
        assertThat(resetMessage(resets, 5)).contains("session buffer limit 131072 reached");
        resets.forEach(Frame::release);

        driver.feed(ResetFrameCodec.encode(SessionDriver.ALLOC, 3, ErrorCode.CANCELLED, 0, "peer gave up"));
        assertThat(driver.onLoop(driver.session::reservedBytes)).isEqualTo(1000L);
        driver.feed(open(7));
        assertThat(driver.framesOf(FrameType.RESET)).as("room again for a window").isEmpty();
        assertThat(driver.onLoop(driver.session::reservedBytes)).isEqualTo(WINDOW + 1000L);
    }

    @Test
    void localOpenBeyondTheBudgetFailsWithTheLimit() throws Exception {
        start(WINDOW);
        MuxStream first = driver.session.open("disk").block(Duration.ofSeconds(5));
        assertThat(first).isNotNull();
        assertThatThrownBy(() -> driver.session.open("disk").block(Duration.ofSeconds(5)))
            .isInstanceOf(SessionClosedException.class)
            .hasMessageContaining("session buffer limit 65536 reached");
        assertThat(driver.onLoop(driver.session::activeStreams)).isEqualTo(1);
    }

    @Test
    void dataBeyondTheSessionLimitIsAFlowControlErrorNamingIt() throws Exception {
        start(2L * WINDOW);
        driver.feed(Unpooled.wrappedBuffer(open(1), open(3), data(1, WINDOW, false), data(3, WINDOW, false)));
        assertThat(driver.onLoop(driver.session::bufferedBytes)).as("full, yet within the limit").isEqualTo(2L * WINDOW);
        assertThat(driver.framesOf(FrameType.GOAWAY)).isEmpty();

        driver.feed(data(3, 1, false));
        List<Frame> goAway = driver.framesOf(FrameType.GOAWAY);
        assertThat(goAway).hasSize(1);
        assertThat(GoAwayFrameCodec.code(goAway.get(0).payload())).isEqualTo(ErrorCode.FLOW_CONTROL_ERROR.code());
        assertThat(GoAwayFrameCodec.message(goAway.get(0).payload()))
            .startsWith("session buffer limit 131072 exceeded: 131072 bytes buffered, 1 more on stream 3");
        goAway.forEach(Frame::release);
        assertThat(driver.onLoop(() -> driver.sink.closed)).isTrue();
        assertThat(driver.onLoop(driver.session::bufferedBytes)).as("buffers released on failure").isZero();
        assertThat(driver.onLoop(driver.session::reservedBytes)).isZero();
        assertThat(driver.session.onClose().onErrorResume(e -> Mono.empty()).block(Duration.ofSeconds(5))).isNull();
    }

    @Test
    void belowTheSessionLimitAStreamOverrunIsStillReportedPerStream() throws Exception {
        start(3L * WINDOW);
        driver.feed(Unpooled.wrappedBuffer(open(1), data(1, WINDOW, false), data(1, 1, false)));
        List<Frame> goAway = driver.framesOf(FrameType.GOAWAY);
        assertThat(GoAwayFrameCodec.code(goAway.get(0).payload())).isEqualTo(ErrorCode.FLOW_CONTROL_ERROR.code());
        assertThat(GoAwayFrameCodec.message(goAway.get(0).payload())).contains("overran its window");
        goAway.forEach(Frame::release);
    }
}
