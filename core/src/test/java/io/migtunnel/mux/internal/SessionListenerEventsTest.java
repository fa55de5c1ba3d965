package io.migtunnel.mux.internal;

import io.migtunnel.mux.MuxStream;
import io.migtunnel.mux.SessionConfig;
import io.migtunnel.mux.SessionListener;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.concurrent.DefaultEventExecutor;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;

/** What a {@link SessionListener} hears about data and credit, with two sessions joined in memory. */
class SessionListenerEventsTest {
    private static final int WINDOW = 65_536;
    private static final int CHUNK = 4_000;
    private static final int CHUNKS = 25; // 100,000 bytes: more than one window, less than two

    private final DefaultEventExecutor loop = new DefaultEventExecutor();
    private final Recorder clientEvents = new Recorder();
    private final Recorder serverEvents = new Recorder();
    private final CompletableFuture<MuxStream> accepted = new CompletableFuture<>();
    private MuxSession client;
    private MuxSession server;

    @AfterEach
    void closeSessions() throws Exception {
        if (client != null) {
            client.close("test over");
            server.close("test over");
        }
        assertThat(loop.shutdownGracefully(0, 5, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS)).isTrue();
    }

    private void startSessions() {
        SessionConfig config = SessionConfig.defaults().withStreamWindow(WINDOW);
        LoopbackSink toServer = new LoopbackSink(loop);
        LoopbackSink toClient = new LoopbackSink(loop);
        client = new MuxSession(true, config, toServer, loop, stream -> stream.reset(
            io.migtunnel.protocol.ErrorCode.REFUSED, "client accepts nothing"), clientEvents);
        server = new MuxSession(false, config, toClient, loop, stream -> {
            stream.accept();
            accepted.complete(stream); // nobody reads yet: no credit goes back
        }, serverEvents);
        toServer.connectTo(server);
        toClient.connectTo(client);
        loop.execute(() -> {
            client.start();
            server.start();
        });
    }

    @Test
    void dataBothWaysIsReportedPerStreamAndACreditWaitIsTimedOnce() throws Exception {
        startSessions();
        MuxStream sending = client.open("nbd/disk0").block(Duration.ofSeconds(5));
        sending.send(Flux.range(0, CHUNKS).map(i -> ByteBufAllocator.DEFAULT.buffer(CHUNK).writeZero(CHUNK)))
            .subscribe();

        awaitTrue(() -> serverEvents.received.get() == WINDOW);
        assertThat(clientEvents.blocked).as("still waiting for credit: not reported yet").isEmpty();

        accepted.get(5, TimeUnit.SECONDS).inbound().subscribe(ByteBuf::release);

        long total = (long) CHUNK * CHUNKS;
        awaitTrue(() -> serverEvents.received.get() == total && clientEvents.sent.get() == total);
        awaitTrue(() -> !clientEvents.blocked.isEmpty());
        assertThat(clientEvents.blocked).singleElement().satisfies(nanos -> assertThat(nanos).isPositive());
        assertThat(clientEvents.streamNames).containsOnly("nbd/disk0");
        assertThat(serverEvents.streamNames).containsOnly("nbd/disk0");
        assertThat(serverEvents.blocked).isEmpty();

        assertThat(clientEvents.delays).as("one queueing delay per frame with payload")
            .hasSize(clientEvents.payloadFrames.get());
        assertThat(clientEvents.delays.stream().mapToLong(Long::longValue).max().orElseThrow())
            .as("the bytes that waited for credit waited at least as long as the stream was blocked")
            .isGreaterThanOrEqualTo(clientEvents.blocked.get(0));
    }

    private static void awaitTrue(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition not met within 10 s").isLessThan(deadline);
            Thread.sleep(2); // polling interval of a condition wait
        }
    }

    /** Totals what a session reports; written on the loop, read by the test thread. */
    private static final class Recorder implements SessionListener {
        final AtomicLong sent = new AtomicLong();
        final AtomicLong received = new AtomicLong();
        final List<Long> blocked = new CopyOnWriteArrayList<>();
        final List<String> streamNames = new CopyOnWriteArrayList<>();
        final List<Long> delays = new CopyOnWriteArrayList<>();
        final java.util.concurrent.atomic.AtomicInteger payloadFrames = new java.util.concurrent.atomic.AtomicInteger();

        @Override
        public void onDataSent(MuxStream stream, int bytes) {
            streamNames.add(stream.name());
            sent.addAndGet(bytes);
            if (bytes > 0) {
                payloadFrames.incrementAndGet();
            }
        }

        @Override
        public void onQueueingDelay(MuxStream stream, long nanos) {
            delays.add(nanos);
        }

        @Override
        public void onDataReceived(MuxStream stream, int bytes) {
            streamNames.add(stream.name());
            received.addAndGet(bytes);
        }

        @Override
        public void onCreditBlocked(MuxStream stream, long nanos) {
            blocked.add(nanos);
        }
    }
}
