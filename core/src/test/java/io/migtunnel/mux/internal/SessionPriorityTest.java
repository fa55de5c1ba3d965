package io.migtunnel.mux.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.mux.MuxStream;
import io.migtunnel.mux.SessionConfig;
import io.migtunnel.mux.StreamPriorities;
import io.migtunnel.protocol.Frame;
import io.migtunnel.protocol.FrameType;
import io.migtunnel.protocol.PingFrameCodec;
import io.netty.buffer.Unpooled;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
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
        // the pipe cap off: this peer answers no probes, and the frame sizes are what is looked at
        List<Frame> data = run(SessionConfig.defaults().withPriorities(StreamPriorities.defaults().withUrgentPipeLimit(0)));
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

    private static final int BULK = 4 << 20;
    private static final SessionConfig CAPPED = SessionConfig.defaults()
        .withPriorities(StreamPriorities.defaults().withUrgentPipeLimit(StreamPriorities.SUGGESTED_URGENT_PIPE_LIMIT));

    /**
     * Control writes once; then 4 MiB of bulk, with a peer that reads nothing until the test
     * answers the session's pipe probes. Returns the bulk bytes written before any answer.
     */
    private long bulkBeforeProbesAnswered(SessionConfig config, AtomicLong now) throws Exception {
        return bulkBeforeProbesAnswered(config, now, "control");
    }

    private long bulkBeforeProbesAnswered(SessionConfig config, AtomicLong now, String moreUrgent) throws Exception {
        driver = new SessionDriver(config, SessionDriver.hello(16 << 20));
        driver.onLoop(() -> {
            driver.session.useClock(now::get);
            return null;
        });
        MuxStream bulk = driver.session.open("nbd/disk0").block(Duration.ofSeconds(5));
        MuxStream control = driver.session.open(moreUrgent).block(Duration.ofSeconds(5));
        control.send(Flux.just(Unpooled.wrappedBuffer(new byte[100])).concatWith(Flux.never())).subscribe(null, e -> { });
        driver.frames().forEach(Frame::release);
        bulk.send(Flux.range(0, BULK / (256 * 1024)).map(i -> Unpooled.buffer(256 * 1024).writeZero(256 * 1024)))
            .subscribe(null, e -> { });
        return bulkWritten();
    }

    /** Bulk DATA bytes written since the last look; the PINGs written are kept in {@link #probes}. */
    private long bulkWritten() throws Exception {
        long bytes = 0;
        for (Frame f : driver.frames()) {
            if (f.type() == FrameType.DATA && f.streamId() == 2) {
                bytes += f.payload().readableBytes();
            } else if (f.type() == FrameType.PING) {
                probes.add(PingFrameCodec.opaque(f.payload()));
            }
            f.release();
        }
        return bytes;
    }

    private final List<Long> probes = new java.util.ArrayList<>();

    /** The peer has read everything: a PONG for every PING so far. */
    private void answerProbes() throws Exception {
        for (long opaque : probes) {
            driver.feed(PingFrameCodec.encodePong(SessionDriver.ALLOC, opaque));
        }
        probes.clear();
    }

    @Test
    void whileAnUrgentStreamIsActiveBulkKeepsThePipeShallowUntilThePeerHasRead() throws Exception {
        AtomicLong now = new AtomicLong(1_000_000_000L);
        int limit = StreamPriorities.SUGGESTED_URGENT_PIPE_LIMIT;
        long first = bulkBeforeProbesAnswered(CAPPED, now);
        assertThat(first).as("bulk written while control is active and the peer has read nothing")
            .isPositive().isLessThanOrEqualTo(limit + MuxSession.SHARED_FRAME);
        assertThat(probes).as("pipe probes asked the peer what it has read").isNotEmpty();

        answerProbes();
        long second = bulkWritten();
        assertThat(second).as("the peer read it all: one more pipe's worth").isPositive()
            .isLessThanOrEqualTo(limit + MuxSession.SHARED_FRAME);

        now.addAndGet(WriteScheduler.ACTIVE_NANOS); // control has been quiet long enough
        answerProbes();
        assertThat(first + second + bulkWritten()).as("no cap once control is quiet: the rest at once").isEqualTo(BULK);
    }

    @Test
    void onlyUrgencyZeroCapsTheOthers() throws Exception {
        // migration (1) over nbd/disk0 (5) is bulk over bulk: a RAM migration must not slow the mirrors
        assertThat(bulkBeforeProbesAnswered(CAPPED, new AtomicLong(), "migration")).isEqualTo(BULK);
        assertThat(probes).isEmpty();
    }

    @Test
    void withTheCapOffAsByDefaultBulkFillsTheCreditAtOnce() throws Exception {
        assertThat(bulkBeforeProbesAnswered(SessionConfig.defaults(), new AtomicLong())).as("the default: no cap")
            .isEqualTo(BULK);
        assertThat(probes).isEmpty();
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
