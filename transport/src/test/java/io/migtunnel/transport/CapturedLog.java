package io.migtunnel.transport;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * The lines the loggers under one name prefix write while this is open. The tests' SLF4J binding is slf4j-simple, which
 * has no appenders but looks up {@code System.err} at each line: this swaps in a stream that keeps
 * the logger's lines and passes everything on to the real {@code System.err}.
 */
final class CapturedLog implements AutoCloseable {
    private final PrintStream original = System.err;
    private final String prefix;
    private final List<String> lines = new ArrayList<>();

    private CapturedLog(String loggerPrefix) {
        this.prefix = " " + loggerPrefix;
        System.setErr(new PrintStream(new LineSplitter(), true, StandardCharsets.UTF_8));
    }

    /**
     * Starts capturing the lines of the loggers whose names start with {@code loggerPrefix}
     * (slf4j-simple's format: "… LEVEL logger - message").
     */
    static CapturedLog of(String loggerPrefix) {
        return new CapturedLog(loggerPrefix);
    }

    /** The messages captured so far, with their level first: "WARN message". */
    synchronized List<String> lines() {
        return List.copyOf(lines);
    }

    /** Waits up to {@code timeout} for a captured line matching {@code condition}; whether one came. */
    synchronized boolean await(Predicate<String> condition, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (lines.stream().noneMatch(condition)) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            wait(Math.max(1, left / 1_000_000));
        }
        return true;
    }

    private synchronized void add(String line) {
        int at = line.indexOf(prefix);
        int message = at < 0 ? -1 : line.indexOf(" - ", at);
        if (at > 0 && message > 0) {
            String head = line.substring(0, at);
            lines.add(head.substring(head.lastIndexOf(' ') + 1) + " " + line.substring(message + 3));
            notifyAll();
        }
    }

    @Override
    public void close() {
        System.err.flush();
        System.setErr(original);
    }

    /** Splits what slf4j-simple prints into lines. */
    private final class LineSplitter extends OutputStream {
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();

        @Override
        public synchronized void write(int b) {
            original.write(b);
            split(b);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            original.write(b, off, len);
            for (int i = off; i < off + len; i++) {
                split(b[i]);
            }
        }

        private void split(int b) {
            if (b == '\n') {
                add(line.toString(StandardCharsets.UTF_8));
                line.reset();
            } else {
                line.write(b);
            }
        }
    }
}
