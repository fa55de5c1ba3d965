package io.migtunnel.bench.migration;

import io.migtunnel.qemu.vm.DiskImages;
import io.migtunnel.testing.ListeningSockets;
import io.migtunnel.testing.relay.RelayProcesses;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Another VM's disk migration sharing the relay: {@code nbdcopy} writes a random image to a
 * {@code qemu-nbd} on the destination side through the relay's {@code nbd/bulk} socket, one copy
 * after another, until closed. Measures the bytes of the copies that completed.
 */
final class CompetingNbd implements AutoCloseable {
    static final String NAME = "nbd/bulk";
    private static final long IMAGE = 64L << 20;
    private static final Duration WAIT = Duration.ofSeconds(30);

    private final RelayProcesses processes = new RelayProcesses();
    private final AtomicLong copied = new AtomicLong();
    private final AtomicReference<String> failure = new AtomicReference<>();
    private final Thread loop;
    private final long started;
    private volatile boolean stopping;
    private volatile Process current;
    private long stoppedAt;

    private CompetingNbd(Path dir, Path exposed) throws IOException {
        Path from = dir.resolve("bulk-src.raw");
        this.loop = new Thread(() -> copyUntilClosed(dir, from, exposed), "competing-nbdcopy");
        this.loop.setDaemon(true);
        this.started = System.nanoTime();
    }

    /**
     * Serves a scratch image at {@code server} (the relay's target for {@link #NAME}) and starts
     * copying to it through {@code exposed}.
     */
    static CompetingNbd start(Path dir, Path server, Path exposed) throws Exception {
        Files.createDirectories(dir);
        DiskImages.randomFile(dir.resolve("bulk-src.raw"), IMAGE, 0xb01c);
        Path to = dir.resolve("bulk-dst.raw");
        try (RandomAccessFile f = new RandomAccessFile(to.toFile(), "rw")) {
            f.setLength(IMAGE);
        }
        Files.deleteIfExists(server);
        CompetingNbd c = new CompetingNbd(dir, exposed);
        Process nbd = c.processes.start(dir.resolve("qemu-nbd.log"),
            List.of("qemu-nbd", "-f", "raw", "-t", "-k", server.toString(), to.toString()));
        c.processes.awaitReady(nbd, "qemu-nbd on " + server, () -> ListeningSockets.unix(server));
        c.loop.start();
        return c;
    }

    private void copyUntilClosed(Path dir, Path from, Path exposed) {
        Path log = dir.resolve("nbdcopy.log");
        while (!stopping) {
            try {
                Process p = new ProcessBuilder("nbdcopy", "-C", "1", from.toString(), "nbd+unix:///?socket=" + exposed)
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
                current = p;
                int exit = p.waitFor();
                if (exit == 0) {
                    copied.addAndGet(IMAGE);
                } else if (!stopping) {
                    failure.compareAndSet(null, "nbdcopy exited " + exit + ": " + Files.readString(log).strip());
                    return;
                }
            } catch (Exception e) {
                failure.compareAndSet(null, e.toString());
                return;
            }
        }
    }

    /** MB/s of the copies that completed, from start to {@link #close()}. */
    double megabytesPerSecond() {
        long end = stoppedAt == 0 ? System.nanoTime() : stoppedAt;
        return copied.get() / 1e6 / ((end - started) / 1e9);
    }

    /** Stops copying; throws if a copy failed while the migration ran. */
    void stop() throws Exception {
        if (stoppedAt == 0) {
            stoppedAt = System.nanoTime();
        }
        halt();
        if (failure.get() != null) {
            throw new IllegalStateException("the competing NBD copy failed: " + failure.get() + "\n" + processes.logs());
        }
    }

    @Override
    public void close() throws Exception {
        halt();
        processes.close();
    }

    /** Ends the copy in progress and the loop (within {@link #WAIT}). */
    private void halt() throws InterruptedException {
        stopping = true;
        Process p = current;
        if (p != null) {
            p.destroy();
        }
        loop.join(WAIT.toMillis());
    }
}
