package io.migtunnel.mux.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Flux;

/**
 * A stream's local consumer for tests that check bytes: copies and releases every buffer, and
 * completes {@link #done} with all of them at FIN (or fails it with the stream). Plus the data
 * such tests send.
 */
final class StreamBytes extends BaseSubscriber<ByteBuf> {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private volatile int size;
    final CompletableFuture<byte[]> done = new CompletableFuture<>();

    @Override
    protected void hookOnNext(ByteBuf value) {
        byte[] b = new byte[value.readableBytes()];
        value.readBytes(b);
        value.release();
        bytes.writeBytes(b);
        size = bytes.size();
    }

    @Override
    protected void hookOnComplete() {
        done.complete(bytes.toByteArray());
    }

    @Override
    protected void hookOnError(Throwable t) {
        done.completeExceptionally(t);
    }

    /** Bytes received so far; safe to read from any thread. */
    int size() {
        return size;
    }

    /** Whether FIN has arrived. */
    boolean finished() {
        return done.isDone() && !done.isCompletedExceptionally();
    }

    /** The bytes received so far (read on the loop). */
    byte[] bytes() {
        return bytes.toByteArray();
    }

    /** {@code data} as a producer emits it: copies of {@code chunk}-byte slices. */
    static Flux<ByteBuf> chunks(byte[] data, int chunk) {
        return Flux.range(0, (data.length + chunk - 1) / chunk)
            .map(i -> Unpooled.copiedBuffer(data, i * chunk, Math.min(chunk, data.length - i * chunk)));
    }

    /** {@code n} pseudo-random bytes drawn from {@code seed}. */
    static byte[] random(long seed, int n) {
        byte[] b = new byte[n];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }
}
