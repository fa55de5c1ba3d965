package io.migtunnel.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test when Netty's {@link ResourceLeakDetector} reports a leaked buffer during it.
 *
 * <p>How it works: a custom {@link ResourceLeakDetectorFactory} makes every detector record its
 * reports (traced and untraced) into a static list. After each test the extension forces a GC,
 * waits until the GC's references have been processed, and allocates/releases a few buffers
 * (Netty only looks for leaks when it tracks a new allocation); any report recorded by then fails
 * the test. Before each test, reports that arrived in between tests (for example from a
 * {@code @BeforeAll}, or from another test engine) fail the test too, saying so.
 *
 * <p><b>Registration.</b> The extension is registered globally through
 * {@code META-INF/services/org.junit.jupiter.api.extension.Extension} in this module's jar
 * (migtunnel-test-support), together with {@code junit.jupiter.extensions.autodetection.enabled=true}
 * in each module's own {@code src/test/resources/junit-platform.properties}: a module that adds
 * the test-support dependency must enable autodetection there (this jar ships no
 * {@code junit-platform.properties}, which would clash with the module's). jqwik {@code @Property}
 * methods run on the jqwik engine, which ignores Jupiter extensions: {@link JqwikLeakDetection}
 * covers them through {@code META-INF/services/net.jqwik.api.lifecycle.LifecycleHook}.
 *
 * <p><b>What is tracked.</b> Netty tracks pooled buffers and direct buffers, but not
 * {@code Unpooled}/{@code UnpooledByteBufAllocator} <em>heap</em> buffers (those are reclaimed by
 * the GC anyway), so a leaked unpooled heap buffer is never reported: tests that allocate those
 * must assert {@code refCnt() == 0} themselves.
 *
 * <p><b>Installation order matters.</b> {@code AbstractByteBuf} creates its (single, static) leak
 * detector from {@link ResourceLeakDetectorFactory#instance()} when that class is initialised,
 * i.e. on the first buffer allocation in the JVM. The factory must be installed before that, so
 * it is installed in this class's static initialiser (the extension is loaded when the Jupiter
 * engine starts executing, before any test class is initialised) and also by
 * {@link JqwikLeakDetection}'s, since the jqwik engine may run first (in core it does). If something allocated a buffer earlier, the
 * detector is Netty's default one and nothing would be recorded; {@link #check()} detects that
 * and fails loudly instead of passing silently. Surefire runs with
 * {@code -Dio.netty.leakDetection.level=PARANOID} (parent pom) so every buffer is tracked; when
 * that property is absent (an IDE run) the static initialiser sets PARANOID itself.
 */
public final class LeakDetection implements BeforeEachCallback, AfterEachCallback {
    private static final List<String> REPORTS = new CopyOnWriteArrayList<>();
    private static final Set<String> DETECTOR_TYPES = ConcurrentHashMap.newKeySet();

    static {
        install();
    }

    /** Installs the recording factory (idempotent); called from the static initialiser. */
    public static synchronized void install() {
        if (!(ResourceLeakDetectorFactory.instance() instanceof RecordingFactory)) {
            ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new RecordingFactory());
        }
        if (System.getProperty("io.netty.leakDetection.level") == null
            && System.getProperty("io.netty.leakDetectionLevel") == null) {
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
        }
    }

    /** The leak reports recorded so far (and not yet cleared). */
    public static List<String> reports() {
        return List.copyOf(REPORTS);
    }

    /** Forgets all recorded reports (for tests that leak on purpose). */
    public static void clearReports() {
        REPORTS.clear();
    }

    /**
     * Forces a GC and leak detection once, without waiting for a report, and returns what has been
     * recorded (not cleared).
     */
    public static List<String> detectNow() {
        gcAndWaitForReferenceProcessing(Duration.ofMillis(500));
        for (int round = 0; round < 2; round++) {
            triggerDetection();
            Thread.yield();
        }
        return reports();
    }

    /**
     * Repeats GC and detection until at least one report is recorded or {@code timeout} passes;
     * returns the recorded reports (possibly empty). For tests that leak on purpose.
     */
    public static List<String> awaitReports(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (REPORTS.isEmpty() && System.nanoTime() < deadline) {
            detectNow();
            if (REPORTS.isEmpty()) {
                sleep(5);
            }
        }
        return reports();
    }

    /**
     * Runs detection and throws an {@link AssertionError} listing every recorded report (clearing
     * them) when there is any; also fails when the recording factory was installed too late.
     */
    public static void check() {
        List<String> found = detectNow();
        if (!DETECTOR_TYPES.contains("ByteBuf")) {
            throw new AssertionError("LeakDetection was installed after Netty created its ByteBuf leak detector, "
                + "so leaks cannot be seen; make sure nothing allocates a ByteBuf before the extension is loaded");
        }
        failOn(found, "during this test");
    }

    private static void failOn(List<String> found, String when) {
        if (found.isEmpty()) {
            return;
        }
        REPORTS.removeAll(found);
        StringBuilder sb = new StringBuilder()
            .append(found.size()).append(" Netty leak report(s) ").append(when).append(':');
        for (String r : found) {
            sb.append(System.lineSeparator()).append(r);
        }
        throw new AssertionError(sb.toString());
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        failOn(reports(), "before this test started (from an earlier test, class set-up or another engine)");
    }

    @Override
    public void afterEach(ExtensionContext context) {
        check();
    }

    private static void gcAndWaitForReferenceProcessing(Duration timeout) {
        ReferenceQueue<Object> queue = new ReferenceQueue<>();
        Reference<Object> sentinel = new WeakReference<>(new Object(), queue);
        System.gc();
        try {
            queue.remove(timeout.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Reference.reachabilityFence(sentinel);
    }

    /** Netty polls its reference queue only when it tracks a new allocation. */
    private static void triggerDetection() {
        List<ByteBuf> bufs = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            bufs.add(PooledByteBufAllocator.DEFAULT.buffer(16));
            bufs.add(UnpooledByteBufAllocator.DEFAULT.heapBuffer(16));
        }
        bufs.forEach(ByteBuf::release);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static final class RecordingFactory extends ResourceLeakDetectorFactory {
        @Override
        @SuppressWarnings("deprecation")
        public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval,
                                                                   long maxActive) {
            return newResourceLeakDetector(resource, samplingInterval);
        }

        @Override
        public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval) {
            DETECTOR_TYPES.add(resource.getSimpleName());
            return new RecordingDetector<>(resource, samplingInterval);
        }
    }

    private static final class RecordingDetector<T> extends ResourceLeakDetector<T> {
        RecordingDetector(Class<T> resource, int samplingInterval) {
            super(resource, samplingInterval);
        }

        @Override
        protected boolean needReport() {
            return true; // record even when Netty's logger has ERROR disabled
        }

        @Override
        protected void reportTracedLeak(String resourceType, String records) {
            REPORTS.add("LEAK: " + resourceType + ".release() was not called before it was garbage-collected."
                + records);
            super.reportTracedLeak(resourceType, records);
        }

        @Override
        protected void reportUntracedLeak(String resourceType) {
            REPORTS.add("LEAK: " + resourceType + ".release() was not called before it was garbage-collected "
                + "(no access records; run with -Dio.netty.leakDetection.level=PARANOID)");
            super.reportUntracedLeak(resourceType);
        }
    }
}
