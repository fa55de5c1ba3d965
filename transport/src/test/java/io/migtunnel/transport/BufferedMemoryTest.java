package io.migtunnel.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.mux.Session;
import io.migtunnel.mux.SessionConfig;
import io.migtunnel.protocol.DataFrameCodec;
import io.migtunnel.protocol.FrameType;
import io.migtunnel.protocol.HelloFrameCodec;
import io.migtunnel.protocol.Limits;
import io.migtunnel.protocol.OpenFrameCodec;
import io.migtunnel.protocol.PingFrameCodec;
import io.migtunnel.testing.Await;
import io.migtunnel.transport.internal.SessionChannels;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PoolArenaMetric;
import io.netty.buffer.Unpooled;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The session buffer bounds memory, not only payload bytes. A peer on a real socket fills a
 * stream whose local socket is never read, then sends thousands of 1-byte DATA frames, each in
 * its own read (it waits for a PONG after each). Every such payload is a slice of a read buffer
 * of at least 4 KiB; kept as a slice, each would pin its whole read. The pooled memory the
 * destination holds must grow by about the bytes buffered, not by reads.
 */
@Timeout(120)
class BufferedMemoryTest {
    private static final ByteBufAllocator ALLOC = ByteBufAllocator.DEFAULT;
    private static final int WINDOW = 8 << 20;
    /** Fills the never-read local socket (kernel buffer and outbound high-water mark) and then some. */
    private static final int FILL = 4 << 20;
    private static final int SMALL_FRAMES = 4000;
    /**
     * What the 4000 buffered bytes may add to active pooled memory: their copies (16 B each), and
     * the allocator's thread caches of freed reads. Kept as slices they pin at least 4 KiB each,
     * ≥ 15.6 MiB.
     */
    private static final long GROWTH_BOUND = 2L << 20;

    @TempDir
    Path dir;
    private final CountDownLatch release = new CountDownLatch(1);
    private UnixServer neverReads;
    private Tunnel destination;

    @BeforeEach
    void start() throws Exception {
        neverReads = UnixServer.start(dir.resolve("stall.sock"), ch -> release.await(100, TimeUnit.SECONDS));
        destination = TunnelDestination.create().route("stall", neverReads.path())
            .config(SessionConfig.defaults().withStreamWindow(WINDOW).withMaxConcurrentStreams(2))
            .bind().block(Duration.ofSeconds(10));
    }

    @AfterEach
    void stop() throws Exception {
        release.countDown();
        destination.dispose();
        neverReads.close();
    }

    @Test
    void tinyFramesBufferedOnAStalledStreamHoldTheirBytesNotTheirReads() throws Exception {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", destination.address().getPort()), 10_000);
            s.setSoTimeout(20_000);
            s.setTcpNoDelay(true);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            write(out, HelloFrameCodec.encode(ALLOC, Limits.VERSION, 65536, 65536, 16));
            write(out, OpenFrameCodec.encode(ALLOC, 1, "stall"));
            byte[] chunk = new byte[65536];
            for (int sent = 0; sent < FILL; sent += chunk.length) {
                write(out, DataFrameCodec.encode(ALLOC, 1, false, Unpooled.wrappedBuffer(chunk)));
            }
            Session session = Await.until("a session", Duration.ofSeconds(10), destination::sessions, l -> !l.isEmpty())
                .get(0);
            Await.until("the stalled stream buffering in the session", Duration.ofSeconds(20),
                () -> buffered(session), b -> b >= 1 << 20);
            roundTrip(out, in, 0); // every frame so far processed
            long bufferedBefore = buffered(session);
            long activeBefore = activePooledBytes();

            for (int i = 1; i <= SMALL_FRAMES; i++) {
                write(out, DataFrameCodec.encode(ALLOC, 1, false, Unpooled.wrappedBuffer(new byte[] {(byte) i})));
                roundTrip(out, in, i);
            }

            assertThat(buffered(session) - bufferedBefore).as("the 1-byte frames are buffered, not consumed")
                .isEqualTo(SMALL_FRAMES);
            long growth = activePooledBytes() - activeBefore;
            assertThat(growth).as("active pooled bytes added by %d buffered bytes", SMALL_FRAMES)
                .isLessThan(GROWTH_BOUND);
        }
    }

    private static long buffered(Session session) throws Exception {
        return session.loop().submit(session::bufferedBytes).get(5, TimeUnit.SECONDS);
    }

    /** Bytes in use in the tunnel allocator's direct arenas (thread caches count as in use). */
    private static long activePooledBytes() {
        long total = 0;
        for (PoolArenaMetric arena : SessionChannels.ALLOCATOR.metric().directArenas()) {
            total += arena.numActiveBytes();
        }
        return total;
    }

    /** PING, then read until its PONG: the destination has processed everything sent before. */
    private static void roundTrip(OutputStream out, InputStream in, long opaque) throws Exception {
        write(out, PingFrameCodec.encodePing(ALLOC, opaque));
        assertThat(PeerFrames.readUntil(in, f -> f.type() == FrameType.PONG && PingFrameCodec.opaque(f.payload()) == opaque))
            .as("PONG %d", opaque).isTrue();
    }

    private static void write(OutputStream out, ByteBuf frame) throws Exception {
        try {
            out.write(ByteBufUtil.getBytes(frame));
            out.flush();
        } finally {
            frame.release();
        }
    }
}
