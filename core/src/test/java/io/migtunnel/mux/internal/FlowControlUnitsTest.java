package io.migtunnel.mux.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.migtunnel.protocol.ErrorCode;
import io.migtunnel.protocol.ProtocolException;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The flow-control units with numbers: windows, producer demand and the session buffer. */
class FlowControlUnitsTest {
    private static final int WINDOW = 65536;

    @Nested
    class Receive {
        private final ReceiveWindow w = new ReceiveWindow(WINDOW);

        @Test
        void thePeerMayFillTheInitialWindowAndNotOneByteMore() {
            assertThat(w.fits(WINDOW)).isTrue();
            w.onReceived(WINDOW - 1);
            assertThat(w.fits(1)).isTrue();
            assertThat(w.fits(2)).isFalse();
        }

        @Test
        void creditIsDueAfterHalfAWindowConsumedAndMovesTheLimitToConsumedPlusWindow() {
            w.onReceived(40_000);
            w.onConsumed(32_767);
            assertThat(w.takeCreditDue()).as("one byte short of half a window").isFalse();
            assertThat(w.limit()).isEqualTo(WINDOW);
            w.onConsumed(1);
            assertThat(w.takeCreditDue()).isTrue();
            assertThat(w.consumed()).isEqualTo(32_768);
            assertThat(w.limit()).isEqualTo(32_768 + WINDOW);
            assertThat(w.takeCreditDue()).as("nothing consumed since").isFalse();
        }

        @Test
        void receivedBytesNotConsumedEarnNoCredit() {
            w.onReceived(WINDOW);
            assertThat(w.takeCreditDue()).isFalse();
            assertThat(w.fits(1)).isFalse();
        }
    }

    @Nested
    class Send {
        private final SendWindow w = new SendWindow(WINDOW);

        @Test
        void creditRaisesTheLimitAndReportsTheGrowth() {
            w.onSent(50_000);
            assertThat(w.available()).isEqualTo(15_536);
            assertThat(w.onCredit(1, 40_000, 40_000 + WINDOW)).isEqualTo(40_000);
            assertThat(w.available()).isEqualTo(55_536);
        }

        @Test
        void aLowerOrEqualLimitIsIgnored() {
            w.onSent(10);
            assertThat(w.onCredit(1, 10, 1000)).isZero();
            assertThat(w.onCredit(1, 10, WINDOW)).isZero();
            assertThat(w.limit()).isEqualTo(WINDOW);
        }

        @Test
        void consumedBeyondWhatWasSentOrBeyondTheLimitIsAProtocolError() {
            w.onSent(100);
            assertThatThrownBy(() -> w.onCredit(7, 101, 200_000)).isInstanceOf(ProtocolException.class)
                .hasMessageContaining("stream 7").hasMessageContaining("sent offset 100")
                .satisfies(e -> assertThat(((ProtocolException) e).code()).isEqualTo(ErrorCode.PROTOCOL_ERROR));
            assertThatThrownBy(() -> w.onCredit(7, 100, 99)).isInstanceOf(ProtocolException.class);
        }
    }

    @Nested
    class Demand {
        private final ProducerDemand d = new ProducerDemand();

        @Test
        void requestsABatchAndRefillsOnlyOnceMoreThanHalfHasArrived() {
            assertThat(d.toRequest(WINDOW)).isEqualTo(ProducerDemand.PREFETCH_BUFFERS);
            for (int i = 0; i < ProducerDemand.PREFETCH_BUFFERS / 2; i++) {
                d.onReceived(10);
            }
            assertThat(d.toRequest(WINDOW)).as("4 of 8 still outstanding").isZero();
            d.onReceived(10);
            assertThat(d.toRequest(WINDOW)).as("3 outstanding: top up to 8").isEqualTo(5);
        }

        @Test
        void asksNothingWhileWhatItHoldsCoversTheCredit() {
            assertThat(d.toRequest(WINDOW)).isEqualTo(8);
            for (int i = 0; i < 8; i++) {
                d.onReceived(8192);
            }
            assertThat(d.held()).isEqualTo(WINDOW);
            assertThat(d.toRequest(WINDOW)).isZero();
            d.onSent(1);
            assertThat(d.toRequest(WINDOW)).isEqualTo(8);
        }

        @Test
        void holdsAtMostAMebibyteHoweverLargeTheCredit() {
            d.toRequest(Long.MAX_VALUE);
            for (int i = 0; i < 4; i++) {
                d.onReceived(256 << 10);
            }
            assertThat(d.held()).isEqualTo(ProducerDemand.PREFETCH_BYTES);
            assertThat(d.toRequest(Long.MAX_VALUE)).isZero();
        }

        @Test
        void aCompletedProducerIsAskedNothing() {
            d.onDone();
            assertThat(d.toRequest(WINDOW)).isZero();
        }
    }

    @Nested
    class Budget {
        private final SessionBudget b = new SessionBudget(3L * WINDOW, WINDOW);

        @Test
        void reservesOneWindowPerStreamUntilFull() {
            assertThat(b.reserve()).isNotNull();
            assertThat(b.reserve()).isNotNull();
            assertThat(b.reserve()).isNotNull();
            assertThat(b.reserved()).isEqualTo(3L * WINDOW);
            assertThat(b.hasRoom()).isFalse();
            assertThat(b.reserve()).isNull();
            assertThat(b.noRoomMessage()).isEqualTo("session buffer limit 196608 reached: 196608 bytes reserved by "
                + "open streams, a stream needs 65536");
        }

        @Test
        void afterFinAStreamReservesOnlyWhatItStillBuffers() {
            SessionBudget.Share s = b.reserve();
            s.buffer(1000);
            s.finish();
            assertThat(b.reserved()).isEqualTo(1000);
            s.take(400);
            assertThat(b.reserved()).isEqualTo(600);
            assertThat(b.buffered()).isEqualTo(600);
            s.take(600);
            assertThat(b.reserved()).isZero();
            assertThat(b.buffered()).isZero();
        }

        @Test
        void releaseDiscardsWhatIsBufferedAndFreesTheReservation() {
            SessionBudget.Share one = b.reserve();
            SessionBudget.Share two = b.reserve();
            one.buffer(5000);
            two.buffer(7000);
            one.release();
            assertThat(b.buffered()).isEqualTo(7000);
            assertThat(b.reserved()).isEqualTo(WINDOW);
            assertThat(b.hasRoom()).isTrue();
        }

        @Test
        void admitsBufferedBytesUpToTheLimit() {
            SessionBudget.Share s = b.reserve();
            s.buffer(3 * WINDOW - 10);
            assertThat(b.admits(10)).isTrue();
            assertThat(b.admits(11)).isFalse();
            assertThat(b.exceededMessage(11, "stream 1 'x'")).isEqualTo(
                "session buffer limit 196608 exceeded: 196598 bytes buffered, 11 more on stream 1 'x'");
        }

        @Test
        void aRefusedStreamsShareReservesNothing() {
            SessionBudget.Share s = b.unreserved();
            s.release();
            assertThat(b.reserved()).isZero();
        }
    }
}
