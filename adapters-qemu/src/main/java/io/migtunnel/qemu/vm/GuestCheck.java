package io.migtunnel.qemu.vm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Proves that a VM's RAM and disks hold a state the {@link BusyGuest} could have reached with
 * nothing lost: every page as its sweep last wrote it, every disk sector holding the latest write
 * made to it, nothing written outside the region. Uses only the JDK and {@code qemu-img}.
 */
public final class GuestCheck {
    private GuestCheck() {
    }

    /**
     * Checks the RAM range of a VM that is not running (stopped, paused after a migration...),
     * reading its status block and range with {@code pmemsave}.
     */
    public static Report ram(QemuVm stoppedVm, BusyGuest guest) throws IOException {
        String state = stoppedVm.status();
        if ("running".equals(state)) {
            throw new IllegalStateException("VM '" + stoppedVm.name() + "' is running; stop it before checking its RAM");
        }
        GuestStatus status = stoppedVm.guestStatus();
        Path dump = stoppedVm.qmpSocket().resolveSibling(stoppedVm.name() + "-range-" + System.nanoTime() + ".bin");
        try {
            stoppedVm.saveRam(guest.ramStart(), guest.ramBytes(), dump);
            return ramDump(dump, status, guest);
        } finally {
            Files.deleteIfExists(dump);
        }
    }

    /**
     * Checks {@code dump}, the bytes of the guest's range ({@code guest.ramBytes()} from
     * {@code guest.ramStart()}), against {@code status} read from the same stopped VM: every page's
     * header and body intact, pages before the status position at its sweep and the others at the
     * sweep before (the page at the position either), and the guest found no error itself.
     */
    public static Report ramDump(Path dump, GuestStatus status, BusyGuest guest) throws IOException {
        return RamCheck.check(dump, status, guest);
    }

    /**
     * Checks disk {@code diskIndex} (the builder's order) from {@code image} (qcow2 or raw, not in
     * use): in the region, each sector holds the latest write made to it given the newest write
     * found, which must be {@code lastCompletedWrite} or the one after it (in flight when the guest
     * stopped), every record intact; outside the region the image equals {@code original} (the
     * image before the guest ran; null skips this).
     */
    public static Report disk(Path image, Path original, int diskIndex, BusyGuest guest, long lastCompletedWrite)
        throws IOException {
        return DiskCheck.check(image, original, diskIndex, guest, lastCompletedWrite);
    }

    /** The outcome of one check: a one-line summary and the problems found (the first few, then a count). */
    public static final class Report {
        private final String summary;
        private final List<String> problems;
        private final long problemCount;

        private Report(String summary, List<String> problems, long problemCount) {
            this.summary = summary;
            this.problems = List.copyOf(problems);
            this.problemCount = problemCount;
        }

        /** Whether no problem was found. */
        public boolean ok() {
            return problemCount == 0;
        }

        /** The problems found: the first 20, then a line counting the rest. */
        public List<String> problems() {
            return problems;
        }

        /** How many problems were found in all. */
        public long problemCount() {
            return problemCount;
        }

        /** One line: what was checked and how it went. */
        public String summary() {
            return summary;
        }

        /** This report if it is {@link #ok()}, otherwise an {@link AssertionError} listing the problems. */
        public Report orThrow() {
            if (!ok()) {
                throw new AssertionError(this);
            }
            return this;
        }

        @Override
        public String toString() {
            return problems.isEmpty() ? summary : summary + "\n  " + String.join("\n  ", problems);
        }
    }

    /** Collects problems, keeping the first {@link #SHOWN}. */
    static final class Problems {
        static final int SHOWN = 20;
        private final List<String> shown = new ArrayList<>();
        private long count;

        void add(String problem) {
            if (count++ < SHOWN) {
                shown.add(problem);
            }
        }

        long count() {
            return count;
        }

        /** A report whose summary is {@code summary}, with "; N problems" when there are any. */
        Report report(String summary) {
            List<String> all = new ArrayList<>(shown);
            if (count > SHOWN) {
                all.add("... and " + (count - SHOWN) + " more");
            }
            return new Report(count == 0 ? summary : summary + "; " + count + (count == 1 ? " problem" : " problems"),
                all, count);
        }
    }
}
