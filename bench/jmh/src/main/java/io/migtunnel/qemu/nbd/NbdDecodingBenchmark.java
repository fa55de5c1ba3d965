package io.migtunnel.qemu.nbd;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The passive NBD decoder alone: one connection's handshake, then {@value #REQUESTS} WRITE
 * requests of 256 KiB and their simple replies, fed as a tunnel would (header and payload in
 * separate buffers). Reports time per connection; divide by {@value #REQUESTS} for a request.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled", "-XX:TieredStopAtLevel=1"})
public class NbdDecodingBenchmark {
    static final int REQUESTS = 256;
    static final int PAYLOAD = 256 * 1024;
    private ByteBuf greeting;
    private ByteBuf options;
    private ByteBuf[] headers;
    private ByteBuf[] replies;
    private ByteBuf payload;

    @Setup
    public void setUp() {
        ByteBufAllocator a = ByteBufAllocator.DEFAULT;
        greeting = a.directBuffer().writeLong(NbdStreamObserver.NBDMAGIC).writeLong(NbdStreamObserver.IHAVEOPT)
            .writeShort(3).writeLong(NbdStreamObserver.OPTION_REPLY_MAGIC).writeInt(7).writeInt(1).writeInt(0);
        options = a.directBuffer().writeInt(3).writeLong(NbdStreamObserver.IHAVEOPT).writeInt(7).writeInt(10)
            .writeInt(4).writeBytes("disk".getBytes(StandardCharsets.US_ASCII)).writeShort(0);
        headers = new ByteBuf[REQUESTS];
        replies = new ByteBuf[REQUESTS];
        for (int i = 0; i < REQUESTS; i++) {
            headers[i] = a.directBuffer(28).writeInt(NbdStreamObserver.REQUEST_MAGIC).writeShort(0).writeShort(1)
                .writeLong(i).writeLong((long) i * PAYLOAD).writeInt(PAYLOAD);
            replies[i] = a.directBuffer(16).writeInt(NbdStreamObserver.SIMPLE_REPLY_MAGIC).writeInt(0).writeLong(i);
        }
        payload = a.directBuffer(PAYLOAD).writeZero(PAYLOAD);
    }

    @Benchmark
    public int oneConnection() {
        int[] seen = new int[1];
        NbdStreamObserver o = new NbdStreamObserver(new NbdRecorder() {
            @Override
            public void onRequest(NbdCommand command, long length) {
                seen[0]++;
            }

            @Override
            public void onReply(NbdCommand command, long payloadBytes, long latencyNanos, int error) {
                seen[0]++;
            }
        });
        o.serverToClient(greeting);
        o.clientToServer(options);
        for (int i = 0; i < REQUESTS; i++) {
            o.clientToServer(headers[i]);
            o.clientToServer(payload);
            o.serverToClient(replies[i]);
        }
        if (seen[0] != 2 * REQUESTS) {
            throw new IllegalStateException("decoded " + seen[0]);
        }
        return seen[0];
    }

    @TearDown
    public void tearDown() {
        greeting.release();
        options.release();
        payload.release();
        for (int i = 0; i < REQUESTS; i++) {
            headers[i].release();
            replies[i].release();
        }
    }
}
