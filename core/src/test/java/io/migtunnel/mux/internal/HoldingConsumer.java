package io.migtunnel.mux.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;
import org.reactivestreams.Subscription;
import reactor.core.publisher.BaseSubscriber;

/**
 * A stream's local consumer that keeps the buffers it is given until told to let go, as a socket
 * writer does while its write is in flight. What it holds is its own: the session must neither
 * release it nor lose track of the rest when the stream or session dies meanwhile.
 */
final class HoldingConsumer extends BaseSubscriber<ByteBuf> {
    private final boolean unbounded;
    private final List<ByteBuf> holding = new ArrayList<>();

    /** @param unbounded request everything at once, rather than one buffer per {@link #afterChunk()} */
    HoldingConsumer(boolean unbounded) {
        this.unbounded = unbounded;
    }

    @Override
    protected void hookOnSubscribe(Subscription s) {
        s.request(unbounded ? Long.MAX_VALUE : 1);
    }

    @Override
    protected void hookOnNext(ByteBuf value) {
        holding.add(value);
    }

    @Override
    protected void hookOnError(Throwable e) {
        // the stream failed with the session: expected here; what is held stays held
    }

    /** A write completed: lets go of what it held and, if bounded, asks for one more buffer. */
    void afterChunk() {
        releaseAll();
        if (!unbounded && !isDisposed()) {
            request(1);
        }
    }

    /** Checks that nothing it holds was released under it, releases it all; returns how many. */
    int releaseAll() {
        int n = holding.size();
        for (ByteBuf b : holding) {
            assertThat(b.refCnt()).as("a buffer handed to the consumer was released by the session").isPositive();
            b.release();
        }
        holding.clear();
        return n;
    }

    int held() {
        return holding.size();
    }
}
