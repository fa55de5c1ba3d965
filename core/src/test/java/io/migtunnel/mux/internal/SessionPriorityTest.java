package io.migtunnel.mux.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.mux.MuxStream;
import io.migtunnel.mux.SessionConfig;
import io.migtunnel.mux.StreamPriorities;
import io.migtunnel.protocol.Frame;
import io.migtunnel.protocol.FrameType;
import io.netty.buffer.Unpooled;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;

/**
 * Priorities in the session's writer, frame by frame: when the connection becomes writable
 * again, the urgent stream's bytes go first, ahead of bulk bytes that waited longer, and bulk
 * frames stay small while an urgent stream is open.
 */
class SessionPriorityTest {
    private SessionDriver driver;

    @AfterEach
    void stop() throws Exception {
        driver.close();
    }

    /** Opens both streams, fills the connection with bulk bytes, then queues a small urgent message. */
    private List<Frame> run(SessionConfig config) throws Exception {
        driver = new SessionDriver(config, SessionDriver.hello(1 << 20));
        MuxStream bulk = driver.session.open("nbd/disk0").block(Duration.ofSeconds(5));
        MuxStream control = driver.session.open("control").block(Duration.ofSeconds(5));
        driver.frames().forEach(Frame::release);
        driver.onLoop(() -> driver.sink.writableUntil = driver.sink.written.writerIndex() + 300_000);
        bulk.send(Flux.range(0, 4).map(i -> Unpooled.buffer(256 * 1024).writeZero(256 * 1024))).subscribe(null, e -> { });
        driver.frames().forEach(Frame::release); // what fit before the connection filled up
        control.send(Flux.just(Unpooled.wrappedBuffer(new byte[100])).concatWith(Flux.never()))
            .subscribe(null, e -> { });
        driver.onLoop(() -> {
            driver.sink.writableUntil = Long.MAX_VALUE;
            driver.session.onWritabilityChanged();
            return null;
        });
        return driver.framesOf(FrameType.DATA);
    }

    @Test
    void theUrgentStreamGoesFirstOnceTheConnectionCanTakeMore() throws Exception {
        List<Frame> data = run(SessionConfig.defaults());
        try {
            assertThat(data).isNotEmpty();
            assertThat(data.get(0).streamId()).as("first DATA after the connection drained: control's").isEqualTo(4);
            assertThat(data.get(0).payload().readableBytes()).isEqualTo(100);
            assertThat(data.stream().filter(f -> f.streamId() == 2).mapToInt(f -> f.payload().readableBytes()).max()
                .orElseThrow()).as("bulk frames while control is open").isLessThanOrEqualTo(MuxSession.SHARED_FRAME);
        } finally {
            data.forEach(Frame::release);
        }
    }

    @Test
    void withEqualUrgenciesTheBulkThatWaitedGoesFirst() throws Exception {
        List<Frame> data = run(SessionConfig.defaults().withPriorities(StreamPriorities.defaults().with("control", 5)));
        try {
            assertThat(data.get(0).streamId()).as("no priority: the bulk stream was queued first").isEqualTo(2);
        } finally {
            data.forEach(Frame::release);
        }
    }
}
