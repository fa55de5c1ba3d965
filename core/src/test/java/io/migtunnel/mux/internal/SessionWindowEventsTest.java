package io.migtunnel.mux.internal;

import io.migtunnel.mux.MuxStream;
import io.migtunnel.mux.SessionConfig;
import io.migtunnel.mux.SessionListener;
import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.protocol.ErrorCode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.concurrent.DefaultEventExecutor;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Flux;

/**
 * The buffered-bytes and send-window deltas a {@link SessionListener} hears, with two sessions
 * joined in memory: their running sums follow the stream's state and return to 0 when it ends.
 */
class SessionWindowEventsTest {
    private static final int WINDOW = 65_536;
    private static final int CHUNK = 4_096;
    private static final int CHUNKS = 40; // 160 KiB: more than two windows

    private final DefaultEventExecutor loop = new DefaultEventExecutor();
    private final Sums clientSums = new Sums();
    private final Sums serverSums = new Sums();
    private final CompletableFuture<MuxStream> accepted = new CompletableFuture<>();
    private MuxSession client;
    private MuxSession server;

    @BeforeEach
    void startSessions() {
        SessionConfig config = SessionConfig.defaults().withStreamWindow(WINDOW);
        LoopbackSink toServer = new LoopbackSink(loop);
        LoopbackSink toClient = new LoopbackSink(loop);
        client = new MuxSession(true, config, toServer, loop, stream -> stream.reset(ErrorCode.REFUSED, "no"), clientSums);
        server = new MuxSession(false, config, toClient, loop, stream -> {
            stream.accept();
            accepted.complete(stream); // nobody reads yet: the data stays buffered
        }, serverSums);
        toServer.connectTo(server);
        toClient.connectTo(client);
        loop.execute(() -> {
            client.start();
            server.start();
        });
    }

    @AfterEach
    void closeSessions() throws Exception {
        client.close("test over");
        server.close("test over");
        assertThat(loop.shutdownGracefully(0, 5, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void aStalledReaderHoldsOneWindowThenBothSumsReturnToZeroAfterItDrains() throws Exception {
        MuxStream sending = client.open("nbd/disk0").block(Duration.ofSeconds(5));
        sending.inbound().subscribe(ByteBuf::release); // takes the server's FIN
        sending.send(chunks()).subscribe();
        MuxStream receiving = accepted.get(5, TimeUnit.SECONDS);

        awaitTrue(() -> serverSums.buffered.get() == WINDOW && clientSums.window.get() == 0);
        assertThat(onLoop(server::bufferedBytes)).isEqualTo(WINDOW);
        assertThat(serverSums.window.get()).as("the server's own send window, untouched").isEqualTo(WINDOW);

        AtomicLong read = new AtomicLong();
        receiving.inbound().subscribe(b -> {
            read.addAndGet(b.readableBytes());
            b.release();
        });
        receiving.send(Flux.empty()).subscribe();

        awaitTrue(() -> read.get() == (long) CHUNK * CHUNKS);
        awaitTrue(() -> onLoop(client::activeStreams) == 0 && onLoop(server::activeStreams) == 0);
        assertThat(serverSums.buffered.get()).isZero();
        assertThat(serverSums.window.get()).as("window given up at the end").isZero();
        assertThat(clientSums.window.get()).isZero();
        assertThat(clientSums.buffered.get()).isZero();
        assertThat(clientSums.maxWindow.get()).isEqualTo(WINDOW);
        assertThat(clientSums.min.get()).isZero();
        assertThat(serverSums.min.get()).isZero();
    }

    @Test
    void aResetReleasesTheBufferedBytesAndTheWindowLeft() throws Exception {
        MuxStream sending = client.open("migration").block(Duration.ofSeconds(5));
        sending.send(chunks()).subscribe(null, e -> { });
        MuxStream receiving = accepted.get(5, TimeUnit.SECONDS);
        awaitTrue(() -> serverSums.buffered.get() == WINDOW);
        receiving.inbound().subscribe(new BaseSubscriber<>() {
            @Override
            protected void hookOnSubscribe(org.reactivestreams.Subscription subscription) {
                subscription.request(1); // takes one buffer, then stalls
            }

            @Override
            protected void hookOnNext(ByteBuf value) {
                value.release();
            }

            @Override
            protected void hookOnError(Throwable reset) {
                // the reset below
            }
        });
        awaitTrue(() -> serverSums.buffered.get() == WINDOW - CHUNK);

        receiving.reset(ErrorCode.CANCELLED, "test");

        awaitTrue(() -> onLoop(client::activeStreams) == 0 && onLoop(server::activeStreams) == 0);
        assertThat(serverSums.buffered.get()).isZero();
        assertThat(serverSums.window.get()).isZero();
        assertThat(clientSums.window.get()).isZero();
        assertThat(clientSums.min.get()).isZero();
        assertThat(serverSums.min.get()).isZero();
    }

    private static Flux<ByteBuf> chunks() {
        return Flux.range(0, CHUNKS).map(i -> ByteBufAllocator.DEFAULT.buffer(CHUNK).writeZero(CHUNK));
    }

    private <T> T onLoop(Callable<T> task) {
        try {
            return loop.submit(task).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static void awaitTrue(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition not met within 10 s").isLessThan(deadline);
            Thread.sleep(2); // polling interval of a condition wait
        }
    }

    /** Running sums of the deltas; written on the loop, read by the test thread. */
    private static final class Sums implements SessionListener {
        final AtomicLong buffered = new AtomicLong();
        final AtomicLong window = new AtomicLong();
        final AtomicLong maxWindow = new AtomicLong();
        /** The lowest either sum has been: never below 0. */
        final AtomicLong min = new AtomicLong();

        @Override
        public void onBufferedChanged(MuxStream stream, long delta) {
            min.accumulateAndGet(buffered.addAndGet(delta), Math::min);
        }

        @Override
        public void onSendWindowChanged(MuxStream stream, long delta) {
            long now = window.addAndGet(delta);
            min.accumulateAndGet(now, Math::min);
            maxWindow.accumulateAndGet(now, Math::max);
        }
    }
}
