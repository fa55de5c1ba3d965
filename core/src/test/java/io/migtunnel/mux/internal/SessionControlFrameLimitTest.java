package io.migtunnel.mux.internal;

import io.migtunnel.mux.SessionConfig;
import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.protocol.ErrorCode;
import io.migtunnel.protocol.Frame;
import io.migtunnel.protocol.FrameType;
import io.migtunnel.protocol.GoAwayFrameCodec;
import io.migtunnel.protocol.OpenFrameCodec;
import io.migtunnel.protocol.PingFrameCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The control frame limit ({@link SessionConfig#maxQueuedControlFrames()}, PROTOCOL.md section 8):
 * a peer that sends PINGs or OPENs it will have refused, and never reads, cannot make the session
 * queue replies without bound (CVE-2019-9512 / CVE-2019-9514). The sink here stays unwritable, as
 * a connection whose peer never reads; {@link RecordingSink#writtenWhileUnwritable} is what a real
 * connection would have had to hold in memory.
 */
class SessionControlFrameLimitTest {
    private static final int LIMIT = 100;
    private static final int PONG_BYTES = 12 + 8;
    private SessionDriver driver;

    @AfterEach
    void stop() throws Exception {
        if (driver != null) {
            driver.close();
        }
    }

    private void start(SessionConfig config) throws Exception {
        driver = new SessionDriver(config.withMaxQueuedControlFrames(LIMIT), SessionDriver.hello(65536));
    }

    private static ByteBuf pings(int count) {
        CompositeByteBuf all = SessionDriver.ALLOC.compositeBuffer(count);
        for (int i = 0; i < count; i++) {
            all.addComponent(true, PingFrameCodec.encodePing(SessionDriver.ALLOC, i));
        }
        return all;
    }

    private static ByteBuf opens(int first, int count) {
        CompositeByteBuf all = SessionDriver.ALLOC.compositeBuffer(count);
        for (int i = 0; i < count; i++) {
            all.addComponent(true, OpenFrameCodec.encode(SessionDriver.ALLOC, first + 2 * i, "disk"));
        }
        return all;
    }

    private static long count(List<Frame> frames, FrameType type) {
        return frames.stream().filter(f -> f.type() == type).count();
    }

    private static Frame goAway(List<Frame> frames) {
        return frames.stream().filter(f -> f.type() == FrameType.GOAWAY).findFirst().orElseThrow();
    }

    @Test
    void defaultIsTenThousandLikeNetty() {
        assertThat(SessionConfig.defaults().maxQueuedControlFrames()).isEqualTo(10_000);
    }

    @Test
    void pingFloodWhileUnwritableGetsGoAwayNamingTheLimitAndQueuesBoundedBytes() throws Exception {
        start(SessionConfig.defaults());
        driver.sink.writable = false;
        driver.feed(pings(50 * LIMIT));

        List<Frame> out = driver.frames();
        assertThat(count(out, FrameType.PONG)).as("PONGs queued while unwritable").isEqualTo(LIMIT);
        Frame goAway = goAway(out);
        assertThat(GoAwayFrameCodec.code(goAway.payload())).isEqualTo(ErrorCode.EXCESSIVE_LOAD.code());
        assertThat(GoAwayFrameCodec.message(goAway.payload())).startsWith("control frame limit 100 reached")
            .contains("maxQueuedControlFrames");
        assertThat(driver.sink.closed).as("connection closed").isTrue();
        assertThat(driver.sink.writtenWhileUnwritable).as("bytes queued for a peer that never reads")
            .isLessThanOrEqualTo((long) LIMIT * PONG_BYTES + 12 + 8 + 1024);
        out.forEach(Frame::release);
    }

    @Test
    void pingsAnsweredWhileWritableNeverCount() throws Exception {
        start(SessionConfig.defaults());
        driver.feed(pings(50 * LIMIT));

        List<Frame> out = driver.frames();
        assertThat(count(out, FrameType.PONG)).isEqualTo(50 * LIMIT);
        assertThat(count(out, FrameType.GOAWAY)).isZero();
        out.forEach(Frame::release);
    }

    @Test
    void countStartsAgainOnceTheConnectionIsWritable() throws Exception {
        start(SessionConfig.defaults());
        driver.sink.writable = false;
        driver.feed(pings(LIMIT));
        driver.sink.writable = true;
        driver.feed(pings(1));
        driver.sink.writable = false;
        driver.feed(pings(LIMIT - 1));

        List<Frame> out = driver.frames();
        assertThat(count(out, FrameType.PONG)).isEqualTo(2L * LIMIT);
        assertThat(count(out, FrameType.GOAWAY)).isZero();
        out.forEach(Frame::release);
    }

    @Test
    void refusedOpenFloodWhileUnwritableGetsGoAway() throws Exception {
        start(SessionConfig.defaults().withMaxConcurrentStreams(2));
        driver.sink.writable = false;
        driver.feed(opens(1, 2 + 50 * LIMIT));

        List<Frame> out = driver.frames();
        assertThat(count(out, FrameType.RESET)).as("RESET REFUSED queued while unwritable").isEqualTo(LIMIT);
        Frame goAway = goAway(out);
        assertThat(GoAwayFrameCodec.code(goAway.payload())).isEqualTo(ErrorCode.EXCESSIVE_LOAD.code());
        assertThat(GoAwayFrameCodec.message(goAway.payload())).startsWith("control frame limit 100 reached");
        assertThat(driver.sink.writtenWhileUnwritable).isLessThanOrEqualTo((long) LIMIT * 200 + 2048);
        assertThat(driver.accepted).hasSize(2);
        out.forEach(Frame::release);
    }
}
