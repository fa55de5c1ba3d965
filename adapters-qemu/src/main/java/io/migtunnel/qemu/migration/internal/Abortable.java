package io.migtunnel.qemu.migration.internal;

import java.time.Duration;
import java.util.concurrent.TimeoutException;
import reactor.core.Exceptions;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * Blocking waits that an abort (Ctrl-C, a dead tunnel, the destination's failure) ends at once,
 * for code that runs a migration step by step on its own thread.
 */
final class Abortable {
    private final Sinks.One<String> reason = Sinks.one();
    private String why;

    /** Ends the current and every later {@link #await} with {@link AbortedException}; the first reason wins. */
    void abort(String why) {
        synchronized (this) {
            if (this.why == null) {
                this.why = why;
            }
        }
        reason.tryEmitValue(why);
    }

    /** The reason of the first abort, or null. */
    synchronized String reason() {
        return why;
    }

    /** Throws {@link AbortedException} once aborted. */
    void throwIfAborted() {
        String r = reason();
        if (r != null) {
            throw new AbortedException(r);
        }
    }

    /** {@code mono}'s value (null when empty); fails when aborted first or after {@code timeout}. */
    <T> T await(String what, Mono<T> mono, Duration timeout) {
        Mono<T> aborted = reason.asMono().flatMap(r -> Mono.error(new AbortedException(r)));
        return unwrap(Mono.firstWithSignal(mono, aborted)
            .timeout(timeout, Mono.error(() -> new TimeoutException(what + ": no result within " + timeout))));
    }

    /** {@code mono}'s value, ignoring aborts (for rollback). */
    static <T> T awaitAnyway(String what, Mono<T> mono, Duration timeout) {
        return unwrap(mono.timeout(timeout, Mono.error(() -> new TimeoutException(what + ": no result within " + timeout))));
    }

    private static <T> T unwrap(Mono<T> mono) {
        try {
            return mono.block();
        } catch (RuntimeException e) {
            Throwable t = Exceptions.unwrap(e);
            if (t instanceof RuntimeException r) {
                throw r;
            }
            throw new StepFailure(t.getMessage() != null ? t.getMessage() : t.toString(), t);
        }
    }

    /** The migration was aborted for {@link #getMessage()}. */
    static final class AbortedException extends RuntimeException {
        AbortedException(String reason) {
            super(reason);
        }
    }
}
