package io.migtunnel.bench.migration;

import io.migtunnel.testing.relay.SocatRelay;
import io.migtunnel.testing.relay.SocketRelay;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;
import java.util.stream.Stream;

/**
 * The busy guest (dirtying RAM, writing both disks) migrated with the same QMP sequence directly,
 * through socat, through the splice relay and through migtunnel, interleaved round by round so a
 * noisy machine hits every path alike; then the convergence options on migtunnel. Prints Markdown
 * tables (medians) on stdout and every run on stderr. Run with bench/busy-migration.sh.
 */
public final class BusyMigrationBench {
    /** migtunnel with both JVMs started for each migration, as a one-shot tool would run it. */
    private static final String COLD = "migtunnel-cold";
    /** migtunnel with the suggested urgent pipe limit (off by default): what the cap costs or gives a migration. */
    private static final String CAPPED = "migtunnel-capped";
    /** migtunnel with every stream at one urgency: priorities off, for the postcopy-under-load rows. */
    private static final String FLAT = "migtunnel-flat";
    private static final List<String> PATHS = List.of("direct", "socat", "splice", "migtunnel", COLD, CAPPED, FLAT);

    private BusyMigrationBench() {
    }

    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        try {
            run(o);
        } finally {
            for (SocketRelay r : o.running.values()) {
                r.close();
            }
        }
    }

    private static void run(Options o) throws Exception {
        List<RunResult> all = new ArrayList<>();
        for (Scenario s : o.comparisons()) {
            List<RunResult> rows = new ArrayList<>();
            for (int round = 1; round <= o.repeat; round++) {
                for (String path : o.paths) {
                    rows.add(runOnce(o, s, path, all.size() + rows.size() + 1));
                }
            }
            all.addAll(rows);
            System.out.println(comparisonTable(s, rows, o.paths));
        }
        if (o.tuning) {
            List<RunResult> rows = new ArrayList<>();
            String path = o.paths.contains("migtunnel") ? "migtunnel" : o.paths.get(0);
            for (Scenario s : tuningScenarios()) {
                rows.add(runOnce(o, s, path, all.size() + rows.size() + 1));
            }
            all.addAll(rows);
            System.out.println(tuningTable(rows, path));
        }
        System.err.println("bench: " + all.size() + " migrations, every converged one checked on the destination");
    }

    private static RunResult runOnce(Options o, Scenario s, String path, int n) throws Exception {
        Path dir = o.work.resolve("run-" + n);
        System.err.printf("bench: run %d: %s through %s%n", n, s.name(), path);
        boolean cold = path.equals(COLD);
        SocketRelay relay = cold ? o.start(new TunnelPath(o.migtunnel, o.tunnelArguments, COLD, s.preempt()),
            dir.resolve("relay")) : o.running(path, s.preempt());
        try {
            RunResult r = new MigrationRun(s, dir, o.targets).run(relay);
            System.err.println("bench:   " + r);
            return r;
        } finally {
            if (cold) {
                relay.close();
            }
            deleteTree(dir);
        }
    }

    private static List<Scenario> tuningScenarios() {
        Scenario plain = Scenario.tuning();
        return List.of(plain,
            plain.withName("auto-converge").withAutoConverge(),
            plain.withName("xbzrle 256 MiB").withXbzrleCache(256 * Scenario.MiB),
            plain.withName("multifd 4").withMultifd(4, "none"),
            plain.withName("multifd 4 zstd").withMultifd(4, "zstd"),
            plain.withName("multifd 4 zlib").withMultifd(4, "zlib"));
    }

    private static String comparisonTable(Scenario s, List<RunResult> rows, List<String> paths) {
        Map<String, List<RunResult>> byPath = new LinkedHashMap<>();
        paths.forEach(p -> byPath.put(p, rows.stream().filter(r -> r.path().equals(p)).toList()));
        boolean postcopy = s.postcopy();
        boolean competing = s.competingNbd();
        StringBuilder t = new StringBuilder();
        t.append(String.format("%n### %s: guest dirtying %d MiB at %s, 2 disks of %d MiB, precopy at %s (median of %d)%n%n",
            s.name(), s.guest().ramBytes() >> 20, rate(s.guest().dirtyKiBPerSecond() * 1024), s.diskBytes() >> 20,
            s.maxBandwidth() >= Scenario.UNLIMITED ? "no limit" : rate(s.maxBandwidth()), rows.size() / paths.size()));
        t.append("| path | total s | mirror s | RAM s | downtime ms | passes | RAM MB | guest MiB/s |"
            + (postcopy ? " postcopy s | blocktime ms |" : "") + (competing ? " other disk MB/s |" : "")
            + " total vs splice | total vs socat | downtime vs direct |"
            + (postcopy ? " postcopy vs direct | blocktime vs direct |" : "") + "\n");
        t.append("|---|---:|---:|---:|---:|---:|---:|---:|" + (postcopy ? "---:|---:|" : "") + (competing ? "---:|" : "")
            + "---:|---:|---:|" + (postcopy ? "---:|---:|" : "") + "\n");
        for (Map.Entry<String, List<RunResult>> e : byPath.entrySet()) {
            List<RunResult> r = e.getValue();
            t.append(String.format("| %s | %.2f | %.2f | %.2f | %.0f | %.0f | %.0f | %.0f |", e.getKey(),
                median(r, RunResult::totalSeconds), median(r, RunResult::mirrorSeconds), median(r, RunResult::ramSeconds),
                median(r, x -> x.downtimeMillis()), median(r, x -> x.passes()), median(r, x -> x.ramBytes()) / 1e6,
                median(r, RunResult::guestMiBps)));
            if (postcopy) {
                t.append(String.format(" %.2f | %.0f |", median(r, RunResult::postcopySeconds),
                    median(r, x -> x.blocktimeMillis())));
            }
            if (competing) {
                t.append(String.format(" %.0f |", median(r, RunResult::competingMBps)));
            }
            t.append(' ').append(ratio(r, byPath.get("splice"), RunResult::totalSeconds)).append(" | ")
                .append(ratio(r, byPath.get("socat"), RunResult::totalSeconds)).append(" | ")
                .append(ratio(r, byPath.get("direct"), x -> x.downtimeMillis())).append(" |");
            if (postcopy) {
                t.append(' ').append(ratio(r, byPath.get("direct"), RunResult::postcopySeconds)).append(" | ")
                    .append(ratio(r, byPath.get("direct"), x -> x.blocktimeMillis())).append(" |");
            }
            t.append('\n');
        }
        return t.toString();
    }

    private static String tuningTable(List<RunResult> rows, String path) {
        Scenario s = Scenario.tuning();
        StringBuilder t = new StringBuilder();
        t.append(String.format("%n### convergence options through %s: guest dirtying %d MiB at %s, precopy at %s, %d s limit%n%n",
            path, s.guest().ramBytes() >> 20, rate(s.guest().dirtyKiBPerSecond() * 1024), rate(s.maxBandwidth()),
            s.limit().toSeconds()));
        t.append("| option | outcome | RAM s | downtime ms | passes | RAM MB sent | guest MiB/s |\n"
            + "|---|---|---:|---:|---:|---:|---:|\n");
        for (RunResult r : rows) {
            t.append(String.format("| %s | %s | %.1f | %s | %d | %.0f | %.0f |%n", r.scenario(),
                r.converged() ? "converged" : "not converged", r.ramSeconds(),
                r.converged() ? Long.toString(r.downtimeMillis()) : "-", r.passes(), r.ramBytes() / 1e6, r.guestMiBps()));
        }
        return t.toString();
    }

    private static double median(List<RunResult> rows, ToDoubleFunction<RunResult> f) {
        double[] v = rows.stream().mapToDouble(f).sorted().toArray();
        if (v.length == 0) {
            return Double.NaN;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static String ratio(List<RunResult> rows, List<RunResult> base, ToDoubleFunction<RunResult> f) {
        if (base == null || base.isEmpty()) {
            return "-";
        }
        return String.format("%.2f", median(rows, f) / median(base, f));
    }

    private static String rate(long bytesPerSecond) {
        return bytesPerSecond == 0 ? "full speed" : (bytesPerSecond >> 20) + " MiB/s";
    }

    private static void deleteTree(Path dir) throws java.io.IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** The command line: {@code --paths}, {@code --scenarios}, {@code --repeat}, {@code --work}, the tools' paths. */
    private static final class Options {
        List<String> paths = PATHS.subList(0, 5);
        List<String> scenarios = List.of("precopy", "postcopy", "tuning");
        int repeat = 3;
        Path work = Path.of(System.getProperty("java.io.tmpdir"));
        Path migtunnel = Path.of("bin/migtunnel");
        Path spliceRelay;
        List<String> tunnelArguments = List.of();
        boolean tuning;
        MigrationRun.Targets targets;
        final Map<String, SocketRelay> running = new LinkedHashMap<>();

        static Options parse(String[] args) {
            Options o = new Options();
            for (int i = 0; i < args.length; i++) {
                if (i + 1 == args.length) {
                    throw new IllegalArgumentException(args[i] + " needs a value");
                }
                String value = args[i + 1];
                switch (args[i]) {
                    case "--paths" -> o.paths = List.of(value.split(","));
                    case "--scenarios" -> o.scenarios = List.of(value.split(","));
                    case "--repeat" -> o.repeat = Integer.parseInt(value);
                    case "--work" -> o.work = Path.of(value);
                    case "--migtunnel" -> o.migtunnel = Path.of(value);
                    case "--splice-relay" -> o.spliceRelay = Path.of(value);
                    case "--tunnel-arguments" -> o.tunnelArguments = Arrays.asList(value.split(" "));
                    default -> throw new IllegalArgumentException("unknown option " + args[i]);
                }
                i++;
            }
            for (String p : o.paths) {
                if (!PATHS.contains(p)) {
                    throw new IllegalArgumentException("--paths: unknown path " + p + " " + PATHS);
                }
            }
            o.tuning = o.scenarios.contains("tuning");
            if (o.paths.contains("splice") && o.spliceRelay == null) {
                throw new IllegalArgumentException("--paths splice needs --splice-relay BINARY (bench/splice-relay, compiled)");
            }
            o.targets = new MigrationRun.Targets(o.work.resolve("dst-migration.sock"), o.work.resolve("dst-nbd.sock"),
                o.work.resolve("dst-bulk.sock"));
            return o;
        }

        List<Scenario> comparisons() {
            List<Scenario> l = new ArrayList<>();
            for (String s : scenarios) {
                switch (s) {
                    case "precopy" -> l.add(Scenario.precopy());
                    case "postcopy" -> l.add(Scenario.postcopyAfterPrecopy());
                    case "postcopy-load" -> l.add(Scenario.postcopyUnderLoad(false));
                    case "postcopy-load-preempt" -> l.add(Scenario.postcopyUnderLoad(true));
                    case "tuning" -> { }
                    default -> throw new IllegalArgumentException("--scenarios: unknown " + s
                        + " (precopy, postcopy, postcopy-load, postcopy-load-preempt, tuning)");
                }
            }
            return l;
        }

        /**
         * The relay of {@code path}, started at its first use and kept for every later migration, as a
         * host's daemons run (the destination QEMU of each migration listens on the same {@link #targets}).
         */
        SocketRelay running(String path, boolean preempt) throws Exception {
            String key = preempt ? path + "+preempt" : path;
            SocketRelay r = running.get(key);
            if (r == null) {
                r = start(switch (path) {
                    case "direct" -> new DirectPath();
                    case "socat" -> SocatRelay.create();
                    case "splice" -> new SplicePath(spliceRelay);
                    case "migtunnel" -> new TunnelPath(migtunnel, tunnelArguments, "migtunnel", preempt);
                    case CAPPED -> new TunnelPath(migtunnel, withCap(tunnelArguments), CAPPED, preempt);
                    case FLAT -> new TunnelPath(migtunnel, flat(tunnelArguments), FLAT, preempt);
                    default -> throw new IllegalArgumentException(path);
                }, work.resolve("relay-" + key.replace('+', '-')));
                running.put(key, r);
            }
            return r;
        }

        /** Every stream of the bench (migration, migration/preempt, nbd, nbd/bulk) at urgency 5: no priorities. */
        private static List<String> flat(List<String> arguments) {
            List<String> l = new ArrayList<>(arguments);
            l.addAll(List.of("--priority", "migration*=5", "--priority", "nbd*=5"));
            return l;
        }

        private static List<String> withCap(List<String> arguments) {
            List<String> l = new ArrayList<>(arguments);
            l.addAll(List.of("--urgent-pipe-limit", "256K"));
            return l;
        }

        SocketRelay start(SocketRelay r, Path exposeDir) throws Exception {
            try {
                r.start(targets.routes(), exposeDir);
                return r;
            } catch (Exception e) {
                r.close();
                throw e;
            }
        }
    }
}
