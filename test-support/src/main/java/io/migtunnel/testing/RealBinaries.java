package io.migtunnel.testing;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;
import org.junit.jupiter.api.Assumptions;

/**
 * The real programs some tests run (QEMU, qemu-img, qemu-nbd, nbdcopy, socat, openssl, gcc). A missing
 * one fails the test, naming the Debian package that brings it ({@code bin/test} installs them);
 * a test is skipped only when that is asked for with {@code -Dmigtunnel.skipQemu=true}, and the
 * first skip in a JVM says so on stderr.
 */
public final class RealBinaries {
    /** The system property that skips every test needing a real QEMU, NBD or socat program. */
    public static final String SKIP_PROPERTY = "migtunnel.skipQemu";

    /** Program -> the Debian package that installs it; keep in step with bin/test. */
    static final Map<String, String> PACKAGES = Map.ofEntries(
        Map.entry("qemu-system-x86_64", "qemu-system-x86"),
        Map.entry("qemu-img", "qemu-utils"),
        Map.entry("qemu-nbd", "qemu-utils"),
        Map.entry("qemu-io", "qemu-utils"),
        Map.entry("ss", "iproute2"),
        Map.entry("nbdcopy", "libnbd-bin"),
        Map.entry("socat", "socat"),
        Map.entry("openssl", "openssl"),
        Map.entry("systemd-analyze", "systemd"),
        Map.entry("gcc", "gcc"), // builds the busy guest (io.migtunnel.qemu.vm.BusyGuest)
        Map.entry("ld", "binutils"),
        // libvirtd also needs libvirt-daemon-driver-qemu, which has no program: bin/test installs it
        Map.entry("libvirtd", "libvirt-daemon"),
        Map.entry("virsh", "libvirt-clients"),
        Map.entry("unshare", "util-linux"),
        Map.entry("nsenter", "util-linux"));

    private static final AtomicBoolean SKIP_ANNOUNCED = new AtomicBoolean();

    private RealBinaries() {
    }

    /**
     * For tests of real QEMU/NBD/socat: skips the test when {@code -Dmigtunnel.skipQemu=true},
     * otherwise fails it unless every program is on the PATH.
     */
    public static void require(String... programs) {
        if (Boolean.getBoolean(SKIP_PROPERTY)) {
            if (SKIP_ANNOUNCED.compareAndSet(false, true)) {
                System.err.println(skipBanner());
            }
            Assumptions.abort("-D" + SKIP_PROPERTY + "=true: skipped, needs " + String.join(", ", programs));
        }
        check(programs);
    }

    /** Fails unless every program is on the PATH; never skips (for tests that are not about QEMU). */
    public static void check(String... programs) {
        String problem = missing(List.of(programs), RealBinaries::onPath);
        if (problem != null) {
            throw new AssertionError(problem);
        }
    }

    /** Whether {@code program} is an executable in a directory of the PATH. */
    public static boolean onPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }

    /** What to tell the user about the programs {@code onPath} does not find, or null if none is missing. */
    static String missing(List<String> programs, Predicate<String> onPath) {
        List<String> absent = new ArrayList<>();
        Set<String> packages = new LinkedHashSet<>();
        for (String program : programs) {
            if (!onPath.test(program)) {
                absent.add(program);
                packages.add(PACKAGES.getOrDefault(program, program));
            }
        }
        if (absent.isEmpty()) {
            return null;
        }
        String install = String.join(" ", packages);
        return "not on the PATH: " + String.join(", ", absent) + " (Debian packages: " + install + "). "
            + "Install them with `sudo apt-get install -y " + install + "`, or run bin/test, which installs "
            + "them; to skip the tests that need them, pass -D" + SKIP_PROPERTY + "=true.";
    }

    private static String skipBanner() {
        String line = "*".repeat(78);
        return line + "\n* -D" + SKIP_PROPERTY + "=true: SKIPPING every test that needs a real QEMU, qemu-nbd,\n"
            + "* nbdcopy or socat. They are not run, so they prove nothing here.\n" + line;
    }
}
