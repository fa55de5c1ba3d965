package io.migtunnel.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.protocol.DataFrameCodec;
import io.migtunnel.protocol.ErrorCode;
import io.migtunnel.protocol.FrameType;
import io.migtunnel.protocol.HelloFrameCodec;
import io.migtunnel.protocol.Limits;
import io.migtunnel.protocol.OpenFrameCodec;
import io.migtunnel.protocol.ResetFrameCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The destination's dials to one route, serialised in stream order: a stream reset while it waits is never dialled. */
@Timeout(60)
class RouteAcceptorDialTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final ByteBufAllocator ALLOC = ByteBufAllocator.DEFAULT;
    private static final byte[] LAST = "last".getBytes(StandardCharsets.US_ASCII);

    @TempDir
    Path dir;
    private UnixServer target;
    private Tunnel destination;

    @AfterEach
    void stop() throws Exception {
        if (destination != null) {
            destination.dispose();
        }
        if (target != null) {
            target.close();
        }
    }

    @Test
    void aStreamResetWhileWaitingForItsDialIsNeverDialled() throws Exception {
        // The target counts connections; the one that reads "last" is the last stream's.
        CountDownLatch lastConnected = new CountDownLatch(1);
        target = UnixServer.start(dir.resolve("target.sock"), ch -> {
            ByteBuffer buf = ByteBuffer.allocate(16);
            while (ch.read(buf) >= 0) {
                if (buf.position() == LAST.length && buf.flip().equals(ByteBuffer.wrap(LAST))) {
                    lastConnected.countDown();
                }
                buf.clear();
            }
        });
        destination = TunnelDestination.create().route("t", target.path()).bind().block(TIMEOUT);

        try (Socket peer = new Socket("127.0.0.1", destination.address().getPort())) {
            peer.setSoTimeout((int) TIMEOUT.toMillis());
            // One write, so one read on the destination: stream 1's dial is in flight while 3 and 5
            // queue behind it and are reset; 7 queues after them.
            send(peer.getOutputStream(), HelloFrameCodec.encode(ALLOC, Limits.VERSION, 65536, 65536, 16),
                OpenFrameCodec.encode(ALLOC, 1, "t"), OpenFrameCodec.encode(ALLOC, 3, "t"),
                OpenFrameCodec.encode(ALLOC, 5, "t"),
                ResetFrameCodec.encode(ALLOC, 3, ErrorCode.CANCELLED, 0, "gave up"),
                ResetFrameCodec.encode(ALLOC, 5, ErrorCode.CANCELLED, 0, "gave up"),
                OpenFrameCodec.encode(ALLOC, 7, "t"));
            awaitOpenOk(peer.getInputStream(), 7);
            send(peer.getOutputStream(), DataFrameCodec.encode(ALLOC, 7, false, Unpooled.wrappedBuffer(LAST)));
            // accept() is FIFO: once the last stream's connection is in, every earlier dial is too.
            assertThat(lastConnected.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).as("stream 7 reached the target")
                .isTrue();
            assertThat(target.accepted()).as("connections: streams 1 and 7 only, not the reset 3 and 5").isEqualTo(2);
        }
    }

    private static void send(OutputStream out, ByteBuf... frames) throws Exception {
        ByteBuf all = Unpooled.wrappedBuffer(frames);
        try {
            out.write(ByteBufUtil.getBytes(all));
            out.flush();
        } finally {
            all.release();
        }
    }

    /** Reads frames until OPEN_OK for {@code id}; fails at EOF. */
    private static void awaitOpenOk(InputStream in, int id) throws Exception {
        if (!PeerFrames.readUntil(in, f -> f.type() == FrameType.OPEN_OK && f.streamId() == id)) {
            throw new AssertionError("connection closed before OPEN_OK for stream " + id);
        }
    }
}
