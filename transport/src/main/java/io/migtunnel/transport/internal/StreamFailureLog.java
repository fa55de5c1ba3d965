package io.migtunnel.transport.internal;

import io.migtunnel.mux.StreamResetException;
import io.migtunnel.protocol.ErrorCode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The failure lines of one session's streams, rate limited: in each window, at most
 * {@code linesPerKind} lines for each kind of failure (such as {@code reset: REFUSED}); the rest
 * are counted, and one summary line per kind tells how many once the window has passed or the
 * session ends. A peer that floods the session with doomed streams thus costs a bounded number of
 * lines, and the operator still learns how many failed and how.
 *
 * <p>Memory is bounded whatever the peer sends: at most {@link #MAX_KINDS} kinds are told apart
 * (the peer chooses the codes of its resets), the rest share one; each kind keeps one shortened
 * example. The window is checked when a stream fails and at each {@link #tick}.
 *
 * <p>NOT thread safe: confined to the session's event loop.
 */
final class StreamFailureLog {
    /** Kinds told apart in one window; failures of further kinds are counted as {@link #OTHER}. */
    static final int MAX_KINDS = 8;
    /** The kind of failures beyond {@link #MAX_KINDS} distinct ones. */
    static final String OTHER = "other failures";
    /** Longest cause message kept or written, in characters: a peer's reset message is its to choose. */
    static final int MAX_MESSAGE = 200;

    private final String subject;
    private final long windowNanos;
    private final int linesPerKind;
    private final LongSupplier nanoClock;
    private final Consumer<String> out;
    /** The kinds seen in the current window, in order of first failure; at most MAX_KINDS + 1. */
    private final List<Kind> kinds = new ArrayList<>();
    /** When the current window started ({@link #nanoClock}); meaningless while {@link #kinds} is empty. */
    private long windowStart;

    /**
     * Lines go to {@code out}; {@code subject} (such as "session with /10.0.0.2:40312") starts the
     * summaries; {@code nanoClock} is {@link System#nanoTime} outside tests.
     */
    StreamFailureLog(String subject, Duration window, int linesPerKind, LongSupplier nanoClock, Consumer<String> out) {
        if (window.isNegative() || window.isZero() || linesPerKind < 1) {
            throw new IllegalArgumentException("window must be positive and linesPerKind at least 1");
        }
        this.subject = subject;
        this.windowNanos = window.toNanos();
        this.linesPerKind = linesPerKind;
        this.nanoClock = nanoClock;
        this.out = out;
    }

    /** {@code stream} (its {@code toString} names it) ended with {@code cause}: logs or counts it. */
    void failed(Object stream, Throwable cause) {
        tick();
        if (kinds.isEmpty()) {
            windowStart = nanoClock.getAsLong();
        }
        Kind kind = kindOf(cause);
        if (kind.logged < linesPerKind) {
            kind.logged++;
            out.accept(stream + " ended: " + shorten(cause.getMessage()));
            return;
        }
        if (kind.suppressed == 0) {
            out.accept(subject + ": more streams failing with " + kind.name + "; counting them, not logging each, for "
                + seconds(windowNanos));
        }
        kind.suppressed++;
        kind.example = stream + ": " + shorten(cause.getMessage());
    }

    /** Writes the summaries if the window has passed; cheap enough to call on any event. */
    void tick() {
        if (!kinds.isEmpty() && nanoClock.getAsLong() - windowStart >= windowNanos) {
            summarise(windowNanos);
        }
    }

    /** Writes the summaries of the window so far, as the session ends. */
    void flush() {
        if (!kinds.isEmpty()) {
            summarise(Math.min(windowNanos, nanoClock.getAsLong() - windowStart));
        }
    }

    private void summarise(long spanNanos) {
        for (Kind k : kinds) {
            if (k.suppressed > 0) {
                out.accept(String.format(Locale.ROOT, "%s: ... and %,d more streams failed the same way (%s) within %s;"
                    + " last: %s", subject, k.suppressed, k.name, seconds(spanNanos), k.example));
            }
        }
        kinds.clear();
    }

    private Kind kindOf(Throwable cause) {
        String name = cause instanceof StreamResetException r
            ? (r.byPeer() ? "reset by peer: " : "reset: ") + ErrorCode.describe(r.code())
            : cause.getClass().getSimpleName();
        for (Kind k : kinds) {
            if (k.name.equals(name)) {
                return k;
            }
        }
        if (kinds.size() >= MAX_KINDS) {
            name = OTHER;
            for (Kind k : kinds) {
                if (k.name.equals(OTHER)) {
                    return k;
                }
            }
        }
        Kind k = new Kind(name);
        kinds.add(k);
        return k;
    }

    private static String shorten(String message) {
        if (message == null) {
            return "(no message)";
        }
        return message.length() <= MAX_MESSAGE ? message : message.substring(0, MAX_MESSAGE) + "…";
    }

    private static String seconds(long nanos) {
        long millis = Duration.ofNanos(nanos).toMillis();
        return millis % 1000 == 0 ? millis / 1000 + " s" : String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
    }

    /** One kind of failure within the current window. */
    private static final class Kind {
        /** What the failures have in common, such as {@code reset: REFUSED}; at most ~40 characters. */
        final String name;
        /** Lines written for this kind in the window, up to linesPerKind. */
        int logged;
        /** Failures counted but not written since the kind reached linesPerKind. */
        long suppressed;
        /** The last counted failure (stream and shortened message), for the summary. */
        String example;

        Kind(String name) {
            this.name = name;
        }
    }
}
