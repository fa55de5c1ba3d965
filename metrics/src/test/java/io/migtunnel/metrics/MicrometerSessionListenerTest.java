package io.migtunnel.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.mux.MuxStream;
import io.migtunnel.mux.Session;
import io.migtunnel.mux.SessionClosedException;
import io.migtunnel.mux.StreamResetException;
import io.migtunnel.protocol.ErrorCode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.ByteBuf;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** The listener alone, fed events directly. */
class MicrometerSessionListenerTest {
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final MicrometerSessionListener listener = new MicrometerSessionListener(registry, 3);

    @Test
    void resetsAreCountedByStreamReasonAndSide() {
        MuxStream disk = new FakeStream(1, "nbd/disk0");
        MuxStream migration = new FakeStream(3, "migration");
        listener.onStreamOpened(disk);
        listener.onStreamOpened(migration);

        listener.onStreamClosed(disk, new StreamResetException(ErrorCode.UNKNOWN_ROUTE.code(), "no route", true));
        listener.onStreamClosed(migration, new StreamResetException(ErrorCode.CANCELLED.code(), "cancelled", false));

        assertThat(resets("nbd/disk0", "UNKNOWN_ROUTE", "peer")).isEqualTo(1);
        assertThat(resets("migration", "CANCELLED", "local")).isEqualTo(1);
        assertThat(registry.find("migtunnel.streams.reset").counters()).hasSize(2);
        assertThat(registry.get("migtunnel.streams.active").gauge().value()).isZero();
    }

    @Test
    void resetReasonsStayBounded() {
        MuxStream a = new FakeStream(1, "a");
        MuxStream b = new FakeStream(3, "a");
        listener.onStreamClosed(a, new StreamResetException(123_456, "from a newer peer", true));
        listener.onStreamClosed(b, new SessionClosedException(ErrorCode.KEEPALIVE_TIMEOUT, "peer silent"));

        assertThat(resets("a", "UNKNOWN", "peer")).isEqualTo(1);
        assertThat(resets("a", "KEEPALIVE_TIMEOUT", "local")).isEqualTo(1);
    }

    @Test
    void aCleanCloseIsNotAReset() {
        MuxStream s = new FakeStream(1, "migration");
        listener.onStreamOpened(s);
        assertThat(registry.get("migtunnel.streams.active").gauge().value()).isEqualTo(1);

        listener.onStreamClosed(s, null);

        assertThat(registry.find("migtunnel.streams.reset").counters()).isEmpty();
        assertThat(registry.get("migtunnel.streams.active").gauge().value()).isZero();
        assertThat(registry.get("migtunnel.streams.opened").tag("stream", "migration").counter().count()).isEqualTo(1);
    }

    @Test
    void dataIsCountedPerStreamNameAndDirectionAndNamesBeyondTheLimitShareOneTag() {
        for (int i = 0; i < 5; i++) {
            MuxStream s = new FakeStream(2 * i + 1, "route" + i);
            listener.onDataSent(s, 100);
            listener.onDataReceived(s, 10);
            listener.onDataReceived(s, 0);
        }

        assertThat(bytes("route0", "sent")).isEqualTo(100);
        assertThat(bytes("route2", "received")).isEqualTo(10);
        assertThat(registry.get("migtunnel.stream.frames").tags("stream", "route1", "direction", "received")
            .counter().count()).isEqualTo(2);
        assertThat(bytes("_other", "sent")).isEqualTo(200);
        assertThat(registry.find("migtunnel.stream.bytes").tag("stream", "route4").counter()).isNull();
    }

    @Test
    void bufferedBytesAndSendWindowsAreSummedOverTheOpenStreamsOfAName() {
        MuxStream disk1 = new FakeStream(1, "nbd/disk0");
        MuxStream disk2 = new FakeStream(3, "nbd/disk0");
        listener.onSendWindowChanged(disk1, 65_536);
        listener.onSendWindowChanged(disk2, 65_536);
        listener.onSendWindowChanged(disk1, -4_000);
        listener.onBufferedChanged(disk2, 1_000);
        listener.onBufferedChanged(disk2, 500);
        listener.onBufferedChanged(disk2, -1_000);

        assertThat(gauge("migtunnel.stream.send.window", "nbd/disk0")).isEqualTo(2 * 65_536 - 4_000);
        assertThat(gauge("migtunnel.stream.buffered", "nbd/disk0")).isEqualTo(500);
        assertThat(registry.get("migtunnel.stream.buffered").gauge().getId().getBaseUnit()).isEqualTo("bytes");

        listener.onSendWindowChanged(disk1, -(65_536 - 4_000));
        listener.onBufferedChanged(disk2, -500);
        listener.onSendWindowChanged(disk2, -65_536);

        assertThat(gauge("migtunnel.stream.send.window", "nbd/disk0")).isZero();
        assertThat(gauge("migtunnel.stream.buffered", "nbd/disk0")).isZero();
    }

    @Test
    void creditWaitsRoundTripsAndProtocolErrorsAreRecorded() {
        MuxStream s = new FakeStream(1, "migration");
        listener.onCreditBlocked(s, TimeUnit.MILLISECONDS.toNanos(3));
        listener.onRoundTrip(Duration.ofMillis(2));
        listener.onProtocolError(ErrorCode.FLOW_CONTROL_ERROR, "overrun");

        assertThat(registry.get("migtunnel.stream.credit.blocked").tag("stream", "migration").timer()
            .totalTime(TimeUnit.MILLISECONDS)).isEqualTo(3);
        assertThat(registry.get("migtunnel.session.rtt").timer().count()).isEqualTo(1);
        assertThat(registry.get("migtunnel.protocol.errors").tag("code", "FLOW_CONTROL_ERROR").counter().count())
            .isEqualTo(1);
    }

    @Test
    void healthFollowsTheSessionsThatAreUp() {
        Session session = new DetachedSession();
        listener.useClock(Clock.fixed(Instant.parse("2026-12-02T14:23:15.759Z"), ZoneOffset.UTC));
        assertThat(listener.health()).isEqualTo(new TunnelHealth(false, "no tunnel session is up"));

        listener.onReady(session);
        assertThat(listener.health()).isEqualTo(new TunnelHealth(true, "ok: 1 session(s) up"));
        assertThat(registry.get("migtunnel.sessions.active").gauge().value()).isEqualTo(1);

        listener.onClosed(session, new SessionClosedException(ErrorCode.KEEPALIVE_TIMEOUT, "no frame\nfor 20 s"));
        assertThat(listener.health())
            .isEqualTo(new TunnelHealth(false, "no tunnel session is up since 2026-12-02T14:23:15Z "
                + "(last one closed: KEEPALIVE_TIMEOUT: no frame for 20 s)"));
        assertThat(registry.get("migtunnel.sessions.active").gauge().value()).isZero();
    }

    private double gauge(String name, String stream) {
        return registry.get(name).tag("stream", stream).gauge().value();
    }

    private double resets(String stream, String reason, String side) {
        return registry.get("migtunnel.streams.reset").tags("stream", stream, "reason", reason, "side", side)
            .counter().count();
    }

    private double bytes(String stream, String direction) {
        return registry.get("migtunnel.stream.bytes").tags("stream", stream, "direction", direction).counter().count();
    }

    /** A stream that only has an id and a name. */
    private record FakeStream(int id, String name) implements MuxStream {
        @Override
        public int urgency() {
            return 3;
        }

        @Override
        public boolean isLocallyOpened() {
            return true;
        }

        @Override
        public Flux<ByteBuf> inbound() {
            return Flux.empty();
        }

        @Override
        public Mono<Void> send(Publisher<ByteBuf> data) {
            return Mono.empty();
        }

        @Override
        public void accept() {
        }

        @Override
        public Mono<Void> onOpened() {
            return Mono.empty();
        }

        @Override
        public void reset(ErrorCode code, String message) {
        }

        @Override
        public Mono<Void> onClose() {
            return Mono.empty();
        }
    }
}
