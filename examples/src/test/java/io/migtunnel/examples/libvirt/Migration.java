package io.migtunnel.examples.libvirt;

import io.migtunnel.testing.Await;
import io.migtunnel.testing.Cmd;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * One {@code virsh migrate --live --p2p --copy-storage-all --persistent} of a guest, run on the
 * source host while the test watches it ({@code virsh domjobinfo}) and steps in
 * ({@code migrate-postcopy}, {@code domjobabort}). The source keeps the domain's definition, so
 * {@code domjobinfo --completed} reports on the finished job there, postcopy included.
 */
final class Migration {
    /** Ten times what the slowest migration here takes: libvirt itself never gives up on a stuck one. */
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final Duration ABORT = Duration.ofSeconds(10);
    private static final Duration POLL = Duration.ofSeconds(1);
    private static final Duration MISSED_CONCLUSION = Duration.ofSeconds(5);
    private static final AtomicInteger COUNT = new AtomicInteger();

    private final LibvirtHost from;
    private final LibvirtHost to;
    private final String domain;
    private final Route route;
    private final Variant variant;
    private final Daemon virsh;

    private Migration(LibvirtHost from, LibvirtHost to, String domain, Route route, Variant variant, Daemon virsh) {
        this.from = from;
        this.to = to;
        this.domain = domain;
        this.route = route;
        this.variant = variant;
        this.virsh = virsh;
    }

    /** Starts migrating {@code guest} from {@code from} to {@code to}; {@code extra}: more options of virsh migrate. */
    static Migration start(Guest guest, LibvirtHost from, LibvirtHost to, Route route, Variant variant,
                           String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("migrate", "--live", "--p2p", "--copy-storage-all", "--persistent",
            guest.name()));
        args.addAll(route.arguments(from, to));
        args.addAll(variant.options());
        args.addAll(List.of(extra));
        Daemon virsh = from.spawn("virsh-migrate-" + COUNT.incrementAndGet(),
            LibvirtHost.virshCommand(args.toArray(String[]::new)));
        return new Migration(from, to, guest.name(), route, variant, virsh);
    }

    Route route() {
        return route;
    }

    Variant variant() {
        return variant;
    }

    /** The source's {@code virsh domjobinfo} now. */
    JobInfo jobInfo() throws Exception {
        Cmd.Result r = from.virsh("domjobinfo", domain);
        return JobInfo.parse(r.exitCode() == 0 ? r.stdout() : "error: " + r.stderr());
    }

    /** Polls {@code domjobinfo} until {@code state} holds; fails if virsh migrate ends first. */
    JobInfo awaitJob(String what, Predicate<JobInfo> state) throws Exception {
        return Await.until(what + " (virsh domjobinfo on " + from + ")", TIMEOUT, () -> {
            JobInfo info = jobInfo();
            if (!virsh.alive() && !state.test(info)) {
                throw new AssertionError("virsh migrate ended before " + what + "; last domjobinfo: " + info
                    + "\n" + virsh.log() + from.libvirtdLog() + to.libvirtdLog());
            }
            return info;
        }, state);
    }

    /** {@code virsh migrate-postcopy}: from now on the destination runs the guest and pulls what RAM is left. */
    void startPostcopy() throws Exception {
        from.virshOk("migrate-postcopy", domain);
    }

    /**
     * Caps the source QEMU's RAM precopy at 1 MiB/s ({@code max-bandwidth}, QMP through
     * {@code virsh qemu-monitor-command}). Call it while the disks are being copied: libvirt has
     * set its own {@code --bandwidth} by then and sets no other before RAM; the disk mirror keeps
     * its own speed, and postcopy is limited only by {@code max-postcopy-bandwidth} (none).
     */
    void limitRamBandwidth() throws Exception {
        from.virshOk("qemu-monitor-command", domain,
            "{\"execute\":\"migrate-set-parameters\",\"arguments\":{\"max-bandwidth\":1048576}}");
    }

    /** {@code virsh domjobabort} on the source. */
    void abort() throws Exception {
        from.virshOk("domjobabort", domain);
    }

    /**
     * Waits for virsh migrate to end, and fails the test when it is stuck for {@link #TIMEOUT}:
     * then it tries {@code domjobabort}, and when that does not end it, destroys the source's
     * domain, so that the next test finds libvirt free. (Misrouted streams, NBD into the incoming
     * migration socket, wait for each other forever, and the source QEMU's monitor with them: its
     * NBD client waits for a greeting; domjobabort and domjobinfo then cannot get the job's lock.)
     *
     * <p>One libvirt 9.0 race is stepped around, and said so in the result: when a migration is
     * cancelled during the disk copy, QEMU can conclude the mirror job (cancelled, its NBD requests
     * answered) while libvirt misses the event and waits for it forever; a second
     * {@code domjobabort} wakes it. This happens only when QEMU reports every job concluded for
     * {@link #MISSED_CONCLUSION} in a row, so a mirror stuck on the tunnel still fails the test.
     * (Seen by others too: deckhouse/virtualization#2282 patches libvirt for it.)
     */
    Result await() throws Exception {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        long concludedSince = -1;
        String nudged = null;
        while (!virsh.waitFor(POLL)) {
            long now = System.nanoTime();
            if (now - deadline > 0) {
                throw stuck();
            }
            if (nudged != null) {
                continue;
            }
            String jobs = monitor("query-jobs");
            if (!allConcluded(jobs)) {
                concludedSince = -1;
            } else if (concludedSince < 0) {
                concludedSince = now;
            } else if (now - concludedSince >= MISSED_CONCLUSION.toNanos()) {
                Cmd.Result again = from.virsh("domjobabort", domain);
                nudged = "libvirt missed the end of the source's mirror job (QEMU: " + jobs.strip() + ") for "
                    + MISSED_CONCLUSION + "; a second domjobabort -> exit " + again.exitCode();
                System.err.println("[" + domain + "] " + nudged);
            }
        }
        return new Result(virsh.exit(), this, nudged);
    }

    /** Whether {@code query-jobs} answered with jobs, all of them concluded. */
    private static boolean allConcluded(String queryJobs) {
        int statuses = queryJobs.split("\"status\":", -1).length - 1;
        int concluded = queryJobs.split("\"status\":\"concluded\"", -1).length - 1;
        return statuses > 0 && statuses == concluded;
    }

    private AssertionError stuck() throws Exception {
        JobInfo stuck = jobInfo();
        String jobs = monitor("query-block-jobs") + monitor("query-jobs");
        Cmd.Result abort = from.virsh("domjobabort", domain);
        String end = "domjobabort -> exit " + abort.exitCode() + " " + abort.stderr().strip();
        if (!virsh.waitFor(ABORT)) {
            Cmd.Result destroy = from.virsh("destroy", domain);
            end += "; virsh still ran " + ABORT + " later: destroy -> exit " + destroy.exitCode();
            virsh.waitFor(ABORT);
        }
        virsh.stop(Duration.ofSeconds(5));
        return new AssertionError("virsh migrate " + variant + " " + from + "->" + to + " (" + route.label()
            + ") did not end within " + TIMEOUT + "; domjobinfo: " + stuck + "; " + end + "\nsource QEMU: " + jobs
            + "\n" + virsh.log() + from.libvirtdLog() + to.libvirtdLog());
    }

    /** The source QEMU's answer to a QMP query without arguments, or why there is none. */
    private String monitor(String command) throws Exception {
        Cmd.Result r;
        try {
            r = from.run(ABORT, LibvirtHost.virshCommand("qemu-monitor-command", domain,
                "{\"execute\":\"" + command + "\"}"));
        } catch (AssertionError timedOut) {
            return command + " -> no answer within " + ABORT + "\n";
        }
        return command + " -> " + (r.exitCode() == 0 ? r.stdout().strip() : "exit " + r.exitCode() + " " + r.stderr().strip()) + "\n";
    }

    /** How it ended. */
    record Result(Daemon.Exit exit, Migration migration, String libvirtRace) {
        boolean succeeded() {
            return exit.status() == 0;
        }

        /** Fails, with virsh's output and both libvirtds' logs, unless virsh migrate exited 0. */
        Result assertSucceeded() {
            if (!succeeded()) {
                throw new AssertionError(describe() + migration.from.libvirtdLog() + migration.to.libvirtdLog());
            }
            return this;
        }

        /** The source's {@code domjobinfo --completed}: the finished job, with its time and downtime. */
        JobInfo completed() throws Exception {
            return JobInfo.parse(migration.from.virshOk("domjobinfo", "--completed", migration.domain).stdout());
        }

        String describe() {
            return "virsh migrate " + migration.variant + " " + migration.from + "->" + migration.to + " ("
                + migration.route.label() + ") -> exit " + exit.status() + " in " + exit.took().toMillis() + " ms\n"
                + Cmd.tail(exit.output()) + "\n" + (libvirtRace == null ? "" : libvirtRace + "\n");
        }
    }
}
