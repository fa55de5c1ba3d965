package io.migtunnel.mux.internal;

import io.migtunnel.mux.MuxStream;
import io.migtunnel.mux.SessionConfig;
import io.migtunnel.mux.SessionListener;
import io.migtunnel.mux.StreamAcceptor;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.migtunnel.metrics.MicrometerNbdRecorder;
import io.migtunnel.metrics.MicrometerSessionListener;
import io.migtunnel.qemu.nbd.NbdAwareness;
import io.migtunnel.qemu.nbd.NbdRecorder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.DefaultEventLoop;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;

/**
 * What metrics cost on the data path, without the kernel: two sessions joined in memory on one
 * event loop carry {@value #REQUESTS} NBD WRITE requests of 256 KiB (64 MiB, with a real NBD
 * handshake and one reply per request) per operation, with both sessions reporting to
 * {@code none}, to Micrometer ({@code metrics}), to NBD decoding alone ({@code nbd-decoding-only}),
 * or to Micrometer plus NBD decoding ({@code metrics+nbd}). In a real tunnel each byte also costs four socket copies, so the
 * relative overhead measured here is an upper bound of the one in production.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 10, time = 2)
@Fork(value = 2, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled", "-XX:TieredStopAtLevel=1",
    "-XX:+UseSerialGC"})
public class DataPathListenerBenchmark {
    static final int REQUESTS = 256;
    static final int PAYLOAD = 256 * 1024;
    static final int REQUEST_MAGIC = 0x25609513;
    static final int SIMPLE_REPLY_MAGIC = 0x67446698;

    @Param({"none", "metrics", "nbd-decoding-only", "metrics+nbd"})
    public String listener;

    private DefaultEventLoop loop;
    private MuxSession client;
    private MuxSession server;
    private ByteBuf payload;
    private volatile CompletableFuture<Long> received;
    private static final java.lang.management.ThreadMXBean THREADS =
        java.lang.management.ManagementFactory.getThreadMXBean();
    private long loopThread;

    @Setup(Level.Trial)
    public void start() throws Exception {
        loop = new DefaultEventLoop();
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        MicrometerSessionListener metrics = new MicrometerSessionListener(registry);
        SessionListener chosen = switch (listener) {
            case "none" -> SessionListener.NONE;
            case "metrics" -> metrics;
            case "metrics+nbd" -> SessionListener.all(metrics,
                new NbdAwareness(n -> n.startsWith("nbd"), disk -> new MicrometerNbdRecorder(registry, disk)));
            case "nbd-decoding-only" -> new NbdAwareness(n -> n.startsWith("nbd"), disk -> new NbdRecorder() {
                @Override
                public void onRequest(io.migtunnel.qemu.nbd.NbdCommand command, long length) {
                }

                @Override
                public void onReply(io.migtunnel.qemu.nbd.NbdCommand command, long bytes, long nanos, int error) {
                }
            });
            default -> throw new IllegalArgumentException(listener);
        };
        payload = ByteBufAllocator.DEFAULT.directBuffer(PAYLOAD);
        byte[] random = new byte[PAYLOAD];
        ThreadLocalRandom.current().nextBytes(random);
        payload.writeBytes(random);

        SessionConfig config = SessionConfig.defaults();
        LoopbackSink toServer = new LoopbackSink(loop);
        LoopbackSink toClient = new LoopbackSink(loop);
        client = new MuxSession(true, config, toServer, loop, StreamAcceptor.REFUSE_ALL, chosen);
        server = new MuxSession(false, config, toClient, loop, this::serve, chosen);
        toServer.connectTo(server);
        toClient.connectTo(client);
        loop.execute(() -> {
            client.start();
            server.start();
        });
        client.ready().block(Duration.ofSeconds(10));
        CompletableFuture<Long> id = new CompletableFuture<>();
        loop.execute(() -> id.complete(Thread.currentThread().getId()));
        loopThread = id.get(10, TimeUnit.SECONDS);

        // One operation up front proves the traffic is what the label says: every byte arrives
        // and, with NBD decoding, every WRITE and its reply are recognised.
        long bytes = nbdWrites64MiB();
        if (bytes != 4 + 16 + 10 + (long) REQUESTS * (28 + PAYLOAD)) {
            throw new IllegalStateException("received " + bytes + " bytes");
        }
        if (listener.equals("metrics+nbd")) {
            double writes = registry.get("migtunnel.nbd.requests").tag("type", "write").counter().count();
            if (writes != 2 * REQUESTS) { // both sessions decode the stream
                throw new IllegalStateException("NBD decoding saw " + writes + " WRITEs, expected " + 2 * REQUESTS);
            }
        }
    }

    /** The NBD server's side: greeting and option ACK, then one simple reply per WRITE received. */
    private void serve(MuxStream stream) {
        stream.accept();
        Sinks.Many<ByteBuf> replies = Sinks.many().unicast().onBackpressureBuffer();
        stream.send(replies.asFlux()).subscribe(null, e -> { });
        ByteBuf greeting = ByteBufAllocator.DEFAULT.buffer()
            .writeLong(0x4e42444d41474943L).writeLong(0x49484156454F5054L).writeShort(3)
            .writeLong(0x0003e889045565a9L).writeInt(7).writeInt(1).writeInt(0);
        replies.tryEmitNext(greeting);
        long handshake = 4 + 16 + 10;
        long perRequest = 28 + PAYLOAD;
        long[] seen = {0};
        long[] replied = {0};
        stream.inbound().subscribe(buf -> {
            seen[0] += buf.readableBytes();
            buf.release();
            while (replied[0] < REQUESTS && seen[0] >= handshake + (replied[0] + 1) * perRequest) {
                replies.tryEmitNext(ByteBufAllocator.DEFAULT.buffer(16)
                    .writeInt(SIMPLE_REPLY_MAGIC).writeInt(0).writeLong(replied[0]));
                replied[0]++;
            }
        }, e -> received.completeExceptionally(e), () -> {
            replies.tryEmitComplete();
            received.complete(seen[0]);
        });
    }

    /**
     * CPU time of both threads at work (the event loop and the benchmark thread), so that the cost
     * is measured even where the operation waits; per operation: {@code cpuNanos / operations}.
     */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Cpu {
        public long cpuNanos;
        public long operations;
    }

    @Benchmark
    public long nbdWrites64MiBWithCpu(Cpu cpu) throws Exception {
        long before = THREADS.getThreadCpuTime(loopThread) + THREADS.getCurrentThreadCpuTime();
        long bytes = nbdWrites64MiB();
        cpu.cpuNanos += THREADS.getThreadCpuTime(loopThread) + THREADS.getCurrentThreadCpuTime() - before;
        cpu.operations++;
        return bytes;
    }

    long nbdWrites64MiB() throws Exception {
        received = new CompletableFuture<>();
        MuxStream stream = client.open("nbd/disk0").block(Duration.ofSeconds(10));
        stream.inbound().subscribe(ByteBuf::release);
        ByteBuf options = ByteBufAllocator.DEFAULT.buffer()
            .writeInt(3).writeLong(0x49484156454F5054L).writeInt(7).writeInt(10)
            .writeInt(4).writeBytes("disk".getBytes(StandardCharsets.US_ASCII)).writeShort(0);
        Flux<ByteBuf> requests = Flux.range(0, REQUESTS).concatMap(i -> Flux.just(
            ByteBufAllocator.DEFAULT.buffer(28).writeInt(REQUEST_MAGIC).writeShort(0).writeShort(1)
                .writeLong(i).writeLong((long) i * PAYLOAD).writeInt(PAYLOAD),
            payload.retainedDuplicate()), 1);
        stream.send(Flux.concat(Flux.just(options), requests)).block(Duration.ofSeconds(60));
        return received.get(60, TimeUnit.SECONDS);
    }

    @TearDown(Level.Trial)
    public void stop() throws Exception {
        loop.execute(() -> {
            client.close("benchmark over");
            server.close("benchmark over");
        });
        loop.shutdownGracefully(0, 5, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
        payload.release();
    }
}
