package io.migtunnel.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.mux.Session;
import io.migtunnel.mux.SessionConfig;
import io.migtunnel.mux.SessionListener;
import io.migtunnel.protocol.ErrorCode;
import io.migtunnel.protocol.FrameType;
import io.migtunnel.protocol.GoAwayFrameCodec;
import io.migtunnel.protocol.HelloFrameCodec;
import io.migtunnel.protocol.Limits;
import io.migtunnel.protocol.OpenFrameCodec;
import io.migtunnel.protocol.PingFrameCodec;
import io.migtunnel.transport.internal.SessionChannels;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.IntUnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hostile peer on a real TCP socket (CVE-2019-9512 / CVE-2019-9514): after HELLO it sends PINGs,
 * or OPENs beyond the stream limit, as fast as it can and never reads. The destination must queue
 * only a bounded number of replies: the pooled memory of its connections stays bounded, and it
 * sends GOAWAY {@code EXCESSIVE_LOAD} naming the limit and closes the connection.
 */
@Timeout(120)
class ControlFrameFloodTest {
    private static final ByteBufAllocator ALLOC = ByteBufAllocator.DEFAULT;
    /** Frames the hostile peer sends at most: unbounded replies to them would be ~100+ MiB of pooled memory. */
    private static final int FLOOD_FRAMES = 4_000_000;
    private static final int FRAMES_PER_WRITE = 4096;
    /**
     * What the destination's outbound buffer may hold: its 4 MiB high-water mark, then 10000
     * replies of up to ~60 bytes plus Netty's 96 bytes per queued message (~1.5 MiB).
     */
    private static final long OUTBOUND_BOUND = 8L << 20;
    /** Pooled memory the flood may add: the above and a few 2 MiB reads, in whole 16 MiB chunks. */
    private static final long POOLED_BOUND = 48L << 20;

    @TempDir
    Path dir;
    private UnixServer echo;
    private Tunnel destination;
    private final CompletableFuture<String> protocolError = new CompletableFuture<>();

    @BeforeEach
    void start() throws Exception {
        echo = UnixServer.echo(dir.resolve("echo.sock"));
        destination = TunnelDestination.create().route("echo", echo.path())
            .config(SessionConfig.defaults().withStreamWindow(65536).withMaxConcurrentStreams(2))
            .listener(new SessionListener() {
                @Override
                public void onProtocolError(ErrorCode code, String message) {
                    protocolError.complete(code + ": " + message);
                }
            })
            .bind().block(Duration.ofSeconds(10));
    }

    @AfterEach
    void stop() throws Exception {
        destination.dispose();
        echo.close();
    }

    @Test
    void pingFloodFromAPeerThatNeverReadsIsCutOffWithBoundedMemory() throws Exception {
        floodAndCheck(PingFrameCodec.encodePing(ALLOC, 42), null);
    }

    @Test
    void openFloodBeyondMaxStreamsFromAPeerThatNeverReadsIsCutOffWithBoundedMemory() throws Exception {
        floodAndCheck(OpenFrameCodec.encode(ALLOC, 1, "echo"), i -> 1 + 2 * i);
    }

    /**
     * Sends HELLO, then up to {@link #FLOOD_FRAMES} copies of {@code frame} (each with its stream id
     * set by {@code idOf}, when not null) without reading, sampling the destination's outbound
     * buffer and pooled memory after each write; then checks the GOAWAY and the close. The frames
     * are plain bytes, not buffers: the leak detector's records would slow the flood down.
     */
    private void floodAndCheck(ByteBuf frame, IntUnaryOperator idOf) throws Exception {
        byte[] one = ByteBufUtil.getBytes(frame);
        frame.release();
        byte[] batch = new byte[one.length * FRAMES_PER_WRITE];
        long baseline = SessionChannels.ALLOCATOR.metric().usedDirectMemory();
        long peakPooled = baseline;
        long peakOutbound = 0;
        try (Socket s = new Socket()) {
            s.setReceiveBufferSize(8192); // keep the replies in the destination, not in this side's kernel
            s.connect(new InetSocketAddress("127.0.0.1", destination.address().getPort()), 10_000);
            s.setSoTimeout(20_000);
            OutputStream out = s.getOutputStream();
            writeAndRelease(out, HelloFrameCodec.encode(ALLOC, Limits.VERSION, 65536, 65536, 16));
            try {
                for (int sent = 0; sent < FLOOD_FRAMES && !protocolError.isDone(); sent += FRAMES_PER_WRITE) {
                    for (int i = 0; i < FRAMES_PER_WRITE; i++) {
                        System.arraycopy(one, 0, batch, i * one.length, one.length);
                        if (idOf != null) {
                            ByteBuffer.wrap(batch).putInt(i * one.length + 4, idOf.applyAsInt(sent + i));
                        }
                    }
                    out.write(batch);
                    peakPooled = Math.max(peakPooled, SessionChannels.ALLOCATOR.metric().usedDirectMemory());
                    peakOutbound = Math.max(peakOutbound, destination.sessions().stream().mapToLong(Session::outboundBufferedBytes).sum());
                }
            } catch (IOException closedUnderUs) {
                // the destination closed the connection while the flood went on: what is expected
            }
            assertThat(peakOutbound).as("peak bytes queued in the destination's outbound buffer")
                .isLessThan(OUTBOUND_BOUND);
            assertThat(peakPooled - baseline).as("pooled memory the flood added (baseline %d MiB)", baseline >> 20)
                .isLessThan(POOLED_BOUND);
            assertThat(protocolError.get(20, TimeUnit.SECONDS))
                .startsWith("EXCESSIVE_LOAD: control frame limit 10000 reached");

            long code = readUntilGoAwayOrEof(s.getInputStream());
            assertThat(code).as("GOAWAY code, then the connection closed (-1: closed without one)")
                .isIn((long) ErrorCode.EXCESSIVE_LOAD.code(), -1L);
        }
    }

    private static void writeAndRelease(OutputStream out, ByteBuf bytes) throws IOException {
        try {
            out.write(ByteBufUtil.getBytes(bytes));
        } finally {
            bytes.release();
        }
    }

    /**
     * Reads what the destination queued until EOF (within the socket timeout); returns the code of
     * the GOAWAY seen, or -1 when the connection closed without one reaching this side (the
     * destination closes after {@code CLOSE_FLUSH_TIMEOUT} even when its GOAWAY is stuck behind
     * the replies).
     */
    private static long readUntilGoAwayOrEof(InputStream in) throws IOException {
        long[] code = {-1};
        try {
            PeerFrames.readUntil(in, f -> {
                if (f.type() == FrameType.GOAWAY) {
                    code[0] = GoAwayFrameCodec.code(f.payload());
                }
                return false;
            });
        } catch (java.net.SocketException reset) {
            // the destination closed (reset) after its GOAWAY or without one reaching this side
        }
        return code[0];
    }
}
