package io.migtunnel.cli;

import io.migtunnel.qemu.migration.ConvergenceOptions;
import io.migtunnel.qemu.migration.MigrationObserver;
import io.migtunnel.qemu.migration.MigrationOptions;
import io.migtunnel.qemu.migration.SourceMigration;
import io.migtunnel.transport.TunnelSource;
import io.migtunnel.transport.TunnelTls;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code migtunnel migrate}: live-migrate the VM behind a QMP socket, with its disks, to a destination. */
@Command(name = "migrate", mixinStandardHelpOptions = true,
    description = {"Live-migrate a running QEMU VM with its disks through one tunnel to a destination started "
        + "with --qmp or --qmp-dir.",
        "Mirrors every disk over NBD, migrates RAM and device state, completes the mirrors while the VM is paused, "
            + "switches over. Any failure or Ctrl-C before the switch-over rolls back: the source VM keeps running "
            + "on its own, untouched disks."})
final class MigrateCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger("migtunnel.migrate");

    @Option(names = "--qmp", required = true, paramLabel = "SOURCE_QMP_SOCKET",
        description = "The source QEMU's QMP socket (-qmp unix:PATH,server=on,wait=off); no other client may be on it.")
    Path qmp;

    @Option(names = "--connect", required = true, paramLabel = "HOST:PORT", converter = Endpoints.HostPort.class,
        description = "The destination's TCP address.")
    InetSocketAddress connect;

    @Option(names = "--vm", paramLabel = "NAME",
        description = "The VM's name on the destination (selects DIR/NAME.qmp with --qmp-dir); default: QEMU's -name.")
    String vm;

    @Option(names = "--disk", paramLabel = "ID",
        description = "A disk to mirror: drive id, or node name for -blockdev. Repeatable; default: every writable disk.")
    List<String> disks = new ArrayList<>();

    @Option(names = "--multifd", paramLabel = "N", description = "Migrate RAM over N parallel channels (multifd).")
    int multifd;

    @Option(names = "--postcopy", description = "Switch to postcopy once RAM migration runs (no rollback after the switch).")
    boolean postcopy;

    @Option(names = "--postcopy-preempt",
        description = "With postcopy (--postcopy, --postcopy-after-precopy or --timeout-action postcopy): QEMU's "
            + "postcopy-preempt, the pages the destination's vCPUs wait for on a second channel, the tunnel's most "
            + "urgent stream (migration/preempt), past the background pages. Not with --multifd.")
    boolean postcopyPreempt;

    @Option(names = "--max-bandwidth", paramLabel = "RATE", converter = ByteUnits.class,
        description = "RAM bandwidth limit in bytes/s, e.g. 800M (default: none).")
    long maxBandwidth;

    @Option(names = "--mirror-bandwidth", paramLabel = "RATE", converter = ByteUnits.class,
        description = "Bandwidth limit per disk mirror in bytes/s, e.g. 200M (default: none).")
    long mirrorBandwidth;

    @Option(names = "--switchover-timeout", paramLabel = "SECONDS",
        description = "The longest the source VM stays paused for the switch-over; past it the migration rolls back "
            + "(default: ${DEFAULT-VALUE}).")
    int switchoverTimeout = (int) MigrationOptions.DEFAULT_SWITCHOVER_TIMEOUT.toSeconds();

    @Option(names = "--downtime-limit", paramLabel = "MS",
        description = "The longest pause at the switch-over QEMU aims for, in ms (QEMU's downtime-limit; default: QEMU's, "
            + "300).")
    Integer downtimeLimit;

    @Option(names = "--auto-converge", description = "Throttle the guest's vCPUs while precopy does not converge.")
    boolean autoConverge;

    @Option(names = "--throttle-initial", paramLabel = "PERCENT",
        description = "With --auto-converge: the first throttle (default: ${DEFAULT-VALUE}).")
    int throttleInitial = 20;

    @Option(names = "--throttle-increment", paramLabel = "PERCENT",
        description = "With --auto-converge: what each later step adds (default: ${DEFAULT-VALUE}).")
    int throttleIncrement = 10;

    @Option(names = "--postcopy-after-precopy",
        description = "Start in precopy; switch to postcopy once the first full pass over RAM is done and precopy has "
            + "not finished (no rollback after the switch).")
    boolean postcopyAfterPrecopy;

    @Option(names = "--timeout", paramLabel = "SECONDS",
        description = "How long the RAM phase may run before --timeout-action (default: no limit).")
    Integer timeout;

    @Option(names = "--timeout-action", paramLabel = "ACTION",
        description = "At --timeout: abort (roll back, the default), postcopy (switch to postcopy) or pause (pause the "
            + "guest so that precopy finishes; it runs again on the destination).")
    String timeoutAction;

    @Option(names = "--compress", paramLabel = "METHOD",
        description = "Compress the multifd channels: zstd or zlib (needs --multifd).")
    String compress;

    @Option(names = "--xbzrle-cache", paramLabel = "BYTES", converter = ByteUnits.class,
        description = "Delta-encode pages sent again, with a cache of this size, e.g. 256M (not with --multifd).")
    long xbzrleCache;

    @Option(names = "--metrics-linger", paramLabel = "SECONDS",
        description = "With --metrics: keep serving /metrics this long after the migration ended, so that Prometheus "
            + "scrapes the final values (default: ${DEFAULT-VALUE}).")
    int metricsLinger = 0;

    @Spec
    CommandSpec spec;

    @Mixin
    TunnelOptions options;

    @Mixin
    TlsOptions tlsOptions;

    private ConvergenceOptions convergence() {
        ConvergenceOptions c = ConvergenceOptions.defaults();
        if (downtimeLimit != null) {
            c = c.withDowntimeLimit(Duration.ofMillis(downtimeLimit));
        }
        if (autoConverge) {
            c = c.withAutoConverge(throttleInitial, throttleIncrement);
        } else if (throttleInitial != 20 || throttleIncrement != 10) {
            throw new IllegalArgumentException("--throttle-initial and --throttle-increment need --auto-converge");
        }
        c = c.withPostcopyAfterPrecopy(postcopyAfterPrecopy);
        if (timeoutAction != null && timeout == null) {
            throw new IllegalArgumentException("--timeout-action needs --timeout");
        }
        if (timeout != null) {
            c = c.withTimeout(Duration.ofSeconds(timeout), choice("--timeout-action",
                timeoutAction != null ? timeoutAction : "abort", ConvergenceOptions.TimeoutAction.class));
        }
        if (compress != null) {
            ConvergenceOptions.Compression method = choice("--compress", compress, ConvergenceOptions.Compression.class);
            if (method == ConvergenceOptions.Compression.NONE) {
                throw new IllegalArgumentException("--compress must be zstd or zlib, got 'none'");
            }
            c = c.withCompression(method);
        }
        return c.withXbzrleCache(xbzrleCache);
    }

    private static <E extends Enum<E>> E choice(String option, String value, Class<E> type) {
        for (E e : type.getEnumConstants()) {
            if (e.name().equalsIgnoreCase(value)) {
                return e;
            }
        }
        throw new IllegalArgumentException(option + " must be one of " + java.util.Arrays.stream(type.getEnumConstants())
            .map(e -> e.name().toLowerCase(java.util.Locale.ROOT)).toList() + ", got '" + value + "'");
    }

    @Override
    public Integer call() {
        MigrationOptions migration;
        try {
            migration = MigrationOptions.defaults().withVm(vm).withDisks(disks).withMultifd(multifd)
                .withPostcopy(postcopy).withMaxBandwidth(maxBandwidth).withMirrorBandwidth(mirrorBandwidth)
                .withSwitchoverTimeout(Duration.ofSeconds(switchoverTimeout))
                .withConvergence(convergence())
                .withPostcopyPreempt(postcopyPreempt); // last: it checks postcopy and the convergence options
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        if (vm != null && !io.migtunnel.qemu.migration.QmpLocator.VM_NAME.matcher(vm).matches()) {
            throw new ParameterException(spec.commandLine(), "--vm '" + vm + "' is not a valid VM name");
        }
        InetSocketAddress address = Endpoints.resolve(connect);
        TunnelTls tls = tlsOptions.resolve("--connect", address, log);
        try (MetricsEndpoint metrics = MetricsEndpoint.start(options.metrics, log)) {
            TunnelSource tunnel = TunnelSource.create().connect(address).config(options.toConfig())
                .listener(metrics.listener());
            if (tls != null) {
                tunnel = tunnel.tls(tls);
            }
            SourceMigration run = SourceMigration.create(qmp, tunnel).options(migration);
            int code = MigrationRunner.run(run, metrics.migrationObserver(), System.out, System.err);
            if (metrics.isServing() && metricsLinger > 0) {
                log.info("serving the final metrics for {} s (--metrics-linger)", metricsLinger);
                try {
                    Thread.sleep(metricsLinger * 1000L);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return code;
        }
    }
}
