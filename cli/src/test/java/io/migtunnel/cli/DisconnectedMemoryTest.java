package io.migtunnel.cli;

import static io.migtunnel.cli.CliProcesses.awaitLine;
import static io.migtunnel.cli.CliProcesses.freePort;
import static io.migtunnel.cli.CliProcesses.launch;
import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.testing.Await;
import io.migtunnel.testing.StallingProxy;
import io.migtunnel.testing.UnixSockets;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real processes: a source whose tunnel falls into a black hole for 30 s while four local
 * connections keep pushing (through an echo at the destination, so both directions are busy).
 * The streams stop at their credit; the source's resident memory stays flat for the whole
 * outage; when the network comes back the session resumes and every byte pushed comes back.
 */
@Timeout(180)
class DisconnectedMemoryTest {
    private static final int STREAMS = 4;
    private static final Duration OUTAGE = Duration.ofSeconds(30);
    /** What the source may grow by during the outage: far below what 30 s of pushing would pile up. */
    private static final long ALLOWED_GROWTH = 32L << 20;

    @TempDir
    Path dir;

    @Test
    void thirtySecondsWithoutAConnectionWhileEveryStreamPushesKeepsMemoryFlat() throws Exception {
        int port = freePort();
        Path target = dir.resolve("echo.sock");
        Path exposed = dir.resolve("exposed.sock");
        ServerSocketChannel echo = UnixSockets.echoServer(target);
        Path dlog = dir.resolve("dest.log");
        Path slog = dir.resolve("src.log");
        Process dest = launch(dlog, "destination", "--listen", "127.0.0.1:" + port, "--route", "x=" + target,
            "--keepalive", "1");
        Process src = null;
        ExecutorService pool = Executors.newFixedThreadPool(2 * STREAMS);
        AtomicBoolean pushing = new AtomicBoolean(true);
        try (StallingProxy proxy = new StallingProxy(new InetSocketAddress("127.0.0.1", port))) {
            awaitLine(dlog, "ready", dest);
            src = launch(slog, "source", "--connect", "127.0.0.1:" + proxy.address().getPort(), "--expose",
                "x=" + exposed, "--keepalive", "1");
            awaitLine(slog, "ready", src);

            AtomicLong written = new AtomicLong();
            AtomicLong read = new AtomicLong();
            List<SocketChannel> channels = new ArrayList<>();
            List<Future<?>> writers = new ArrayList<>();
            List<Future<?>> readers = new ArrayList<>();
            for (int i = 0; i < STREAMS; i++) {
                SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(exposed));
                channels.add(ch);
                writers.add(pool.submit(() -> push(ch, pushing, written)));
                readers.add(pool.submit(() -> drain(ch, read)));
            }
            Await.until("64 MiB echoed", Duration.ofSeconds(60), () -> read.get() > 64L << 20);

            proxy.stall();
            awaitLine(slog, "lost its connection", src);
            long pid = src.pid();
            long writtenAtLoss = written.get();
            List<Long> rss = new ArrayList<>();
            long end = System.nanoTime() + OUTAGE.toNanos();
            rss.add(rss(pid));
            while (System.nanoTime() < end) {
                Thread.sleep(1000); // the sampling interval of a measurement over the outage, not a wait for an event
                rss.add(rss(pid));
            }
            long growth = rss.stream().mapToLong(Long::longValue).max().orElseThrow() - rss.get(0);
            System.out.printf("DisconnectedMemoryTest: source RSS over the outage %d..%d MiB (growth %d KiB), "
                    + "%d KiB written by the local clients after the loss%n",
                rss.stream().mapToLong(Long::longValue).min().orElseThrow() >> 20,
                rss.stream().mapToLong(Long::longValue).max().orElseThrow() >> 20, growth >> 10,
                (written.get() - writtenAtLoss) >> 10);
            assertThat(growth).as("source RSS growth over %s without a connection: %s", OUTAGE, rss)
                .isLessThan(ALLOWED_GROWTH);
            assertThat(written.get() - writtenAtLoss).as("the local writers stopped at their credit")
                .isLessThan(256L << 20);

            proxy.flow();
            awaitLine(slog, "resumed after", src);
            pushing.set(false);
            for (Future<?> w : writers) {
                w.get(60, TimeUnit.SECONDS);
            }
            for (Future<?> r : readers) {
                r.get(60, TimeUnit.SECONDS);
            }
            assertThat(read.get()).as("every byte pushed came back").isEqualTo(written.get());
            assertThat(Files.readString(slog)).doesNotContain("a new session");
            channels.forEach(ch -> {
                try {
                    ch.close();
                } catch (java.io.IOException e) {
                    // closing anyway
                }
            });
        } finally {
            pushing.set(false);
            pool.shutdownNow();
            if (src != null) {
                src.destroyForcibly();
            }
            dest.destroyForcibly();
            echo.close();
        }
    }

    /** Writes 64 KiB at a time while {@code pushing}, then shuts the output. */
    private static Void push(SocketChannel ch, AtomicBoolean pushing, AtomicLong written) throws Exception {
        ByteBuffer chunk = ByteBuffer.allocate(64 * 1024);
        while (pushing.get()) {
            chunk.clear();
            while (chunk.hasRemaining()) {
                written.addAndGet(ch.write(chunk));
            }
        }
        ch.shutdownOutput();
        return null;
    }

    private static Void drain(SocketChannel ch, AtomicLong read) throws Exception {
        ByteBuffer buf = ByteBuffer.allocate(256 * 1024);
        int n;
        while ((n = ch.read(buf)) >= 0) {
            read.addAndGet(n);
            buf.clear();
        }
        return null;
    }

    /** VmRSS of {@code pid}, in bytes. */
    private static long rss(long pid) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D+", "")) * 1024;
            }
        }
        throw new AssertionError("no VmRSS for " + pid);
    }
}
