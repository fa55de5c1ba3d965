package io.migtunnel.testing;

import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The real programs a test drives (QEMU, qemu-nbd, nbdcopy, socat, openssl). A missing one fails
 * the test, naming the Debian package that brings it, so that a machine without them never passes
 * with tests silently skipped; {@code -Dmigtunnel.skipQemu=true} skips such tests on purpose.
 */
public final class RealPrograms {
    /** The system property that skips every test needing a real program. */
    public static final String SKIP = "migtunnel.skipQemu";

    /** Program → the Debian package that installs it. */
    private static final Map<String, String> PACKAGES = Map.of(
        "qemu-system-x86_64", "qemu-system-x86",
        "qemu-img", "qemu-utils",
        "qemu-nbd", "qemu-utils",
        "qemu-io", "qemu-utils",
        "nbdcopy", "libnbd-bin",
        "socat", "socat",
        "openssl", "openssl");

    private RealPrograms() {
    }

    /**
     * Skips the test when {@value #SKIP} is set; otherwise fails it unless every program is on the
     * PATH, naming the missing ones and their packages.
     */
    public static void require(String... programs) {
        assumeFalse(Boolean.getBoolean(SKIP), "-D" + SKIP + "=true: skipping a test that needs " + List.of(programs));
        String missing = missing(ExternalProcesses::onPath, programs);
        if (!missing.isEmpty()) {
            throw new AssertionError(missing);
        }
    }

    /** What {@code onPath} lacks of {@code programs}, as a message naming packages; empty when nothing. */
    static String missing(java.util.function.Predicate<String> onPath, String... programs) {
        Set<String> absent = new LinkedHashSet<>();
        Set<String> packages = new LinkedHashSet<>();
        for (String program : programs) {
            if (!onPath.test(program)) {
                absent.add(program);
                packages.add(PACKAGES.getOrDefault(program, program));
            }
        }
        if (absent.isEmpty()) {
            return "";
        }
        return "this test needs " + String.join(", ", absent) + ", not found on PATH: install "
            + String.join(" ", packages) + " (bin/test installs them as root), or skip these tests with -D" + SKIP
            + "=true";
    }
}
