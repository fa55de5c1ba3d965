package io.migtunnel.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Proves that {@link LeakDetection} sees a buffer that was dropped without being released. */
class LeakDetectionTest {

    @AfterEach
    void forgetDeliberateLeaks() {
        LeakDetection.clearReports(); // runs before the extension's afterEach check
    }

    @Test
    void reportsALeakedUnpooledBuffer() {
        LeakDetection.clearReports();
        leakUnpooledBuffer();
        List<String> reports = LeakDetection.awaitReports(Duration.ofSeconds(10));
        assertThat(reports).isNotEmpty();
        assertThat(String.join("\n", reports)).contains("LEAK", "ByteBuf", "leakUnpooledBuffer");
    }

    @Test
    void reportsALeakedPooledBuffer() {
        LeakDetection.clearReports();
        leakPooledBuffer();
        List<String> reports = LeakDetection.awaitReports(Duration.ofSeconds(10));
        assertThat(reports).isNotEmpty();
        assertThat(String.join("\n", reports)).contains("leakPooledBuffer");
    }

    @Test
    void theExtensionFailsTheTestAndClearsTheReports() {
        LeakDetection.clearReports();
        leakUnpooledBuffer();
        assertThat(LeakDetection.awaitReports(Duration.ofSeconds(10))).isNotEmpty();
        assertThatThrownBy(() -> new LeakDetection().afterEach(null))
            .isInstanceOf(AssertionError.class)
            .hasMessageContaining("Netty leak report(s) during this test")
            .hasMessageContaining("leakUnpooledBuffer");
        assertThat(LeakDetection.reports()).isEmpty();
    }

    @Test
    void releasedBuffersAreNotReported() {
        LeakDetection.clearReports();
        ByteBuf buf = UnpooledByteBufAllocator.DEFAULT.heapBuffer(64).writeLong(1);
        buf.release();
        assertThat(LeakDetection.detectNow()).isEmpty();
    }

    // Separate methods so that no local variable slot keeps the buffer reachable.
    private static void leakUnpooledBuffer() {
        UnpooledByteBufAllocator.DEFAULT.directBuffer(64).writeLong(42);
    }

    private static void leakPooledBuffer() {
        PooledByteBufAllocator.DEFAULT.directBuffer(64).writeLong(42);
    }
}
