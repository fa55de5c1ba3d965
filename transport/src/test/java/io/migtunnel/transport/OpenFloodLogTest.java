package io.migtunnel.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.mux.SessionConfig;
import io.migtunnel.protocol.ErrorCode;
import io.migtunnel.protocol.FrameType;
import io.migtunnel.protocol.HelloFrameCodec;
import io.migtunnel.protocol.Limits;
import io.migtunnel.protocol.OpenFrameCodec;
import io.migtunnel.protocol.ResetFrameCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A peer floods a real destination with OPENs beyond its stream limit, or for unknown routes: every
 * failure is accounted for in the log, in a bounded number of lines.
 */
@Timeout(90)
class OpenFloodLogTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final ByteBufAllocator ALLOC = ByteBufAllocator.DEFAULT;
    private static final int LIMIT = 4;
    private static final int FLOOD = 20_000;
    private static final Pattern SUMMARY =
        Pattern.compile("\\.\\.\\. and ([\\d,]+) more streams failed the same way \\(reset: REFUSED\\)");

    @TempDir
    Path dir;
    private final ExecutorService pool = Executors.newSingleThreadExecutor();
    private UnixServer target;
    private Tunnel destination;

    @AfterEach
    void stop() throws Exception {
        pool.shutdownNow();
        if (destination != null) {
            destination.dispose();
        }
        if (target != null) {
            target.close();
        }
    }

    @Test
    void anOpenFloodBeyondTheStreamLimitLogsABoundedNumberOfLinesThatCountEveryRefusal() throws Exception {
        target = UnixServer.start(dir.resolve("hold.sock"), ch -> ch.read(ByteBuffer.allocate(1))); // holds until EOF
        destination = TunnelDestination.create().route("hold", target.path())
            .config(SessionConfig.defaults().withMaxConcurrentStreams(LIMIT)).bind().block(TIMEOUT);
        List<String> lines;
        try (CapturedLog log = CapturedLog.of("io.migtunnel.session")) {
            String session;
            try (Socket peer = new Socket("127.0.0.1", destination.address().getPort())) {
                peer.setSoTimeout((int) TIMEOUT.toMillis());
                session = "session with " + peer.getLocalSocketAddress();
                InputStream in = peer.getInputStream();
                Future<Integer> refusals = pool.submit(() -> awaitRefusals(in, FLOOD - LIMIT));
                peer.getOutputStream().write(helloAndOpens(FLOOD));
                assertThat(refusals.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).as("RESET REFUSED received")
                    .isEqualTo(FLOOD - LIMIT);
            }
            assertThat(log.await(l -> l.contains(session + " closed"), TIMEOUT)).as("the session closed").isTrue();
            lines = log.lines();
        }

        long refusedLines = lines.stream().filter(l -> l.contains(" ended: reset: REFUSED: too many streams")).count();
        long summarised = 0;
        for (String l : lines) {
            Matcher m = SUMMARY.matcher(l);
            if (m.find()) {
                summarised += Long.parseLong(m.group(1).replace(",", ""));
            }
        }
        assertThat(lines.size()).as("lines logged for %,d OPENs:%n%s", FLOOD, String.join("\n", lines.subList(0,
            Math.min(lines.size(), 50)))).isLessThanOrEqualTo(40);
        assertThat(refusedLines + summarised).as("refusals logged or summarised").isEqualTo(FLOOD - LIMIT);
    }

    @Test
    void aFloodOfOpensForUnknownRoutesLogsABoundedNumberOfLines() throws Exception {
        target = UnixServer.start(dir.resolve("hold.sock"), ch -> ch.read(ByteBuffer.allocate(1)));
        destination = TunnelDestination.create().route("hold", target.path()).bind().block(TIMEOUT);
        List<String> lines;
        try (CapturedLog log = CapturedLog.of("io.migtunnel")) {
            String session;
            try (Socket peer = new Socket("127.0.0.1", destination.address().getPort())) {
                peer.setSoTimeout((int) TIMEOUT.toMillis());
                session = "session with " + peer.getLocalSocketAddress();
                InputStream in = peer.getInputStream();
                // each OPEN is reset at once (UNKNOWN_ROUTE), so the stream limit never applies
                Future<Integer> resets = pool.submit(() -> awaitResets(in, ErrorCode.UNKNOWN_ROUTE, FLOOD));
                peer.getOutputStream().write(helloAndOpens(FLOOD, "nope"));
                assertThat(resets.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).isEqualTo(FLOOD);
            }
            assertThat(log.await(l -> l.contains(session + " closed"), TIMEOUT)).as("the session closed").isTrue();
            lines = log.lines();
        }
        assertThat(lines.size()).as("lines logged for %,d OPENs:%n%s", FLOOD, String.join("\n", lines.subList(0,
            Math.min(lines.size(), 50)))).isLessThanOrEqualTo(40);
        assertThat(lines).as("the operator is told which routes exist").anyMatch(l -> l.contains("(routes: [hold])"));
        assertThat(lines).anyMatch(l -> l.contains(String.format("... and %,d more streams failed the same way"
            + " (reset: UNKNOWN_ROUTE)", FLOOD - 10)));
    }

    /** HELLO, then {@code n} OPENs of the route "hold". */
    private static byte[] helloAndOpens(int n) {
        return helloAndOpens(n, "hold");
    }

    /** HELLO, then {@code n} OPENs of the route {@code name}. */
    private static byte[] helloAndOpens(int n, String name) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        write(bytes, HelloFrameCodec.encode(ALLOC, Limits.VERSION, 65536, 65536, 16));
        for (int i = 0; i < n; i++) {
            write(bytes, OpenFrameCodec.encode(ALLOC, 2 * i + 1, name));
        }
        return bytes.toByteArray();
    }

    private static void write(ByteArrayOutputStream to, ByteBuf frame) {
        try {
            to.writeBytes(ByteBufUtil.getBytes(frame));
        } finally {
            frame.release();
        }
    }

    /** Reads frames until {@code expected} RESET REFUSED have arrived (or EOF); how many did. */
    private static int awaitRefusals(InputStream in, int expected) throws Exception {
        return awaitResets(in, ErrorCode.REFUSED, expected);
    }

    /** Reads frames until {@code expected} RESETs with {@code code} have arrived (or EOF); how many did. */
    private static int awaitResets(InputStream in, ErrorCode code, int expected) throws Exception {
        int[] resets = new int[1];
        PeerFrames.readUntil(in, f -> f.type() == FrameType.RESET && ResetFrameCodec.code(f.payload()) == code.code()
            && ++resets[0] >= expected);
        return resets[0];
    }
}
