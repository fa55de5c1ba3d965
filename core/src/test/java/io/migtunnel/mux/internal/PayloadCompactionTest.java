package io.migtunnel.mux.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import org.junit.jupiter.api.Test;

/** A buffered payload keeps at most twice its size allocated. */
class PayloadCompactionTest {
    private final PooledByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;

    @Test
    void aSmallSliceOfALargeReadIsCopiedAndTheReadFreed() {
        ByteBuf read = alloc.directBuffer(2 << 20).writeZero(100_000);
        ByteBuf payload = read.retainedSlice(1000, 10);
        read.release();
        assertThat(PayloadCompaction.pinnedBytes(payload)).isEqualTo(2 << 20);

        ByteBuf kept = PayloadCompaction.compact(payload);
        assertThat(kept).isNotSameAs(payload);
        assertThat(read.refCnt()).as("the 2 MiB read, once the slice is copied").isZero();
        assertThat(PayloadCompaction.pinnedBytes(kept)).isEqualTo(10);
        assertThat(PayloadCompaction.compact(kept)).as("a copy is never copied again").isSameAs(kept);
        kept.release();
    }

    @Test
    void aSliceOfAtLeastHalfItsReadIsKept() {
        ByteBuf read = alloc.directBuffer(65536).writeZero(65536);
        ByteBuf payload = read.retainedSlice(0, 32768);
        read.release();
        assertThat(PayloadCompaction.compact(payload)).isSameAs(payload);
        payload.release();
        assertThat(read.refCnt()).isZero();
    }

    @Test
    void aSliceOfJoinedReadsPinsEveryRead() {
        CompositeByteBuf joined = alloc.compositeDirectBuffer();
        joined.addComponents(true, alloc.directBuffer(1 << 20).writeZero(4096), alloc.directBuffer(1 << 20).writeZero(4096));
        ByteBuf payload = joined.retainedSlice(4000, 200);
        joined.release();
        assertThat(PayloadCompaction.pinnedBytes(payload)).isEqualTo(2L << 20);
        ByteBuf kept = PayloadCompaction.compact(payload);
        assertThat(joined.refCnt()).isZero();
        assertThat(kept.readableBytes()).isEqualTo(200);
        kept.release();
    }
}
