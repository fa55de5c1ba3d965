package io.migtunnel.mux.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.mux.MuxStream;
import io.migtunnel.mux.SessionClosedException;
import io.migtunnel.mux.SessionConfig;
import io.migtunnel.mux.StreamResetException;
import io.migtunnel.protocol.DataFrameCodec;
import io.migtunnel.protocol.ErrorCode;
import io.migtunnel.protocol.Frame;
import io.migtunnel.protocol.FrameType;
import io.migtunnel.protocol.GoAwayFrameCodec;
import io.migtunnel.protocol.OpenFrameCodec;
import io.migtunnel.protocol.OpenOkFrameCodec;
import io.migtunnel.protocol.ResetFrameCodec;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What a session does on receipt of OPEN_OK, RESET's final offset and GOAWAY's last stream id
 * (PROTOCOL.md sections 4, 7 and 9). The session under test is the server: it opens even ids.
 */
class SessionFrameSemanticsTest {
    private static final Duration WAIT = Duration.ofSeconds(5);
    private final ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;
    private SessionDriver driver;

    @BeforeEach
    void start() throws Exception {
        driver = new SessionDriver(SessionConfig.defaults(), SessionDriver.hello(65536));
    }

    @AfterEach
    void stop() throws Exception {
        driver.close();
    }

    private MuxStream openLocal() throws Exception {
        MuxStream s = driver.session.open("x").block(WAIT);
        driver.frames().forEach(Frame::release);
        return s;
    }

    /** The message of the GOAWAY the session sent ("CODE: why"), or null when it sent none. */
    private String goAway() throws Exception {
        List<Frame> out = driver.framesOf(FrameType.GOAWAY);
        try {
            return out.isEmpty() ? null : GoAwayFrameCodec.message(out.get(0).payload());
        } finally {
            out.forEach(Frame::release);
        }
    }

    @Test
    void openOkConnectsALocallyOpenedStreamOnce() throws Exception {
        MuxStream s = openLocal();
        driver.feed(OpenOkFrameCodec.encode(alloc, s.id()));
        assertThat(s.onOpened().block(WAIT)).isNull();
        assertThat(goAway()).isNull();

        driver.feed(OpenOkFrameCodec.encode(alloc, s.id()));
        assertThat(goAway()).isEqualTo("PROTOCOL_ERROR: second OPEN_OK for stream 2");
    }

    @Test
    void openOkForAStreamThePeerOpenedIsAProtocolError() throws Exception {
        driver.feed(OpenFrameCodec.encode(alloc, 1, "disk"));
        driver.feed(OpenOkFrameCodec.encode(alloc, 1));
        assertThat(goAway()).isEqualTo("PROTOCOL_ERROR: OPEN_OK for stream 1, which the peer opened");
    }

    @Test
    void openOkForAStreamResetMeanwhileIsDiscarded() throws Exception {
        MuxStream s = openLocal();
        s.reset(ErrorCode.CANCELLED, "changed my mind");
        driver.feed(OpenOkFrameCodec.encode(alloc, s.id()));
        assertThat(goAway()).isNull();
        assertThat(driver.onLoop(driver.session::activeStreams)).isZero();
    }

    @Test
    void aResetWhoseFinalOffsetMatchesWhatArrivedFailsOnlyItsStream() throws Exception {
        driver.feed(OpenFrameCodec.encode(alloc, 1, "disk"));
        driver.feed(DataFrameCodec.encode(alloc, 1, false, Unpooled.wrappedBuffer(new byte[100])));
        MuxStream peerOpened = driver.onLoop(() -> driver.accepted.get(0));
        driver.feed(ResetFrameCodec.encode(alloc, 1, ErrorCode.LOCAL_IO_ERROR, 100, "disk gone"));
        assertThat(goAway()).isNull();
        Throwable cause = peerOpened.onClose().materialize().block(WAIT).getThrowable();
        assertThat(cause).isInstanceOf(StreamResetException.class).hasMessageContaining("disk gone");
    }

    @Test
    void aResetClaimingMoreOrFewerBytesThanArrivedIsAProtocolError() throws Exception {
        driver.feed(OpenFrameCodec.encode(alloc, 1, "disk"));
        driver.feed(DataFrameCodec.encode(alloc, 1, false, Unpooled.wrappedBuffer(new byte[100])));
        driver.feed(ResetFrameCodec.encode(alloc, 1, ErrorCode.LOCAL_IO_ERROR, 99, "lost a byte"));
        assertThat(goAway()).isEqualTo("PROTOCOL_ERROR: RESET on stream 1 says 99 bytes were sent, 100 arrived");
    }

    @Test
    void aGracefulGoAwayFailsTheStreamsAboveItsLastIdWithRefusedAndKeepsTheRest() throws Exception {
        MuxStream two = openLocal();
        MuxStream four = openLocal();
        MuxStream six = openLocal();
        driver.feed(GoAwayFrameCodec.encode(alloc, ErrorCode.NO_ERROR, 2, "draining"));

        assertThat(goAway()).isNull();
        for (MuxStream unprocessed : List.of(four, six)) {
            Throwable cause = unprocessed.onClose().materialize().block(WAIT).getThrowable();
            assertThat(cause).isInstanceOf(SessionClosedException.class).hasMessage("REFUSED: peer is going away: stream "
                + unprocessed.id() + " was not processed (last stream id 2)");
            assertThat(((SessionClosedException) cause).code()).isEqualTo(ErrorCode.REFUSED);
        }
        assertThat(driver.onLoop(driver.session::activeStreams)).as("stream 2 runs on").isEqualTo(1);
        assertThat(two.onClose().toFuture()).isNotDone();
    }

    @Test
    void aGoAwayLastIdOfThePeersParityIsAProtocolError() throws Exception {
        openLocal();
        driver.feed(GoAwayFrameCodec.encode(alloc, ErrorCode.NO_ERROR, 1, "odd"));
        assertThat(goAway()).isEqualTo("PROTOCOL_ERROR: GOAWAY last stream id 1 is not of this side's parity");
    }

    @Test
    void aGoAwayLastIdNeverOpenedIsAProtocolError() throws Exception {
        openLocal();
        driver.feed(GoAwayFrameCodec.encode(alloc, ErrorCode.NO_ERROR, 4, "idle"));
        assertThat(goAway()).isEqualTo("PROTOCOL_ERROR: GOAWAY last stream id 4 was never opened");
    }

    @Test
    void aSecondGoAwayMayLowerTheLastIdButNotRaiseIt() throws Exception {
        openLocal();
        openLocal();
        openLocal();
        driver.feed(GoAwayFrameCodec.encode(alloc, ErrorCode.NO_ERROR, 6, "first"));
        driver.feed(GoAwayFrameCodec.encode(alloc, ErrorCode.NO_ERROR, 4, "lower"));
        assertThat(goAway()).isNull();
        assertThat(driver.onLoop(driver.session::activeStreams)).isEqualTo(2);
        driver.feed(GoAwayFrameCodec.encode(alloc, ErrorCode.NO_ERROR, 6, "higher"));
        assertThat(goAway()).isEqualTo("PROTOCOL_ERROR: GOAWAY last stream id 6 above the 4 of the peer's earlier GOAWAY");
    }

    @Test
    void resumptionFramesWithoutNegotiationAreAProtocolError() throws Exception {
        driver.feed(io.migtunnel.protocol.SessionFrameCodec.encode(alloc, new byte[32], new byte[16], new byte[32]));
        assertThat(goAway()).isEqualTo("PROTOCOL_ERROR: SESSION after the handshake");
    }
}
