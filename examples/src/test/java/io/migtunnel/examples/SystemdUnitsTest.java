package io.migtunnel.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.migtunnel.metrics.Scraper;
import io.migtunnel.testing.Await;
import io.migtunnel.testing.Cmd;
import io.migtunnel.testing.ListeningSockets;
import io.migtunnel.testing.RealBinaries;
import io.migtunnel.testing.UnixSockets;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Keeps {@code systemd/} (README "A cluster: one destination per host, one source per peer")
 * working: {@code systemd-analyze verify} finds nothing wrong with the units; every option their
 * command lines and example environment files use is an option of the role's {@code --help}; a
 * source towards PEER exposes exactly the paths PEER's destination routes (libvirt uses one path
 * on both hosts); and the two ExecStart= lines, expanded as systemd does with the example
 * environment files, carry a migration's two streams from "host-a" to "host-b" with the README's
 * per-host TLS layout, and stop with exit 0 within TimeoutStopSec= on SIGTERM.
 */
class SystemdUnitsTest {
    private static final Path UNITS = Path.of("systemd");
    private static final Path REPO = Path.of("").toAbsolutePath().getParent();
    private static final Path MIGTUNNEL = REPO.resolve("bin").resolve("migtunnel");
    private static final Path CLI_JAR = REPO.resolve("cli/target/migtunnel-cli.jar");
    private static final String INSTALLED_BINARY = "/usr/local/bin/migtunnel";
    private static final String DESTINATION = "migtunnel-destination.service";
    private static final String SOURCE = "migtunnel-source@.service";
    private static final Path DESTINATION_ENV = UNITS.resolve("destination.env.example");
    private static final Path SOURCE_ENV = UNITS.resolve("source-PEER.env.example");
    /** The host the example files describe (destination.env.example's MIGTUNNEL_NAME). */
    private static final String PEER = "host-b";
    /** The host that migrates to it: its certificate is one the example allow-list names. */
    private static final String SOURCE_HOST = "host-a";
    private static final Duration START = Duration.ofSeconds(30);
    /** An option line of picocli's usage help: "  -h, --help ..." or "      --connect=HOST:PORT ...". */
    private static final Pattern HELP_OPTION = Pattern.compile("(?m)^(?:  -[A-Za-z], |      )(--[a-z][a-z0-9-]*)");
    private static final Pattern OPTION = Pattern.compile("(?<![\\w-])--[a-z][a-z0-9-]*");

    @TempDir
    Path dir;

    @Test
    void systemdAnalyzeVerifyFindsNoProblemInTheUnits() throws Exception {
        RealBinaries.check("systemd-analyze");
        assertThat(MIGTUNNEL).as("bin/migtunnel").isExecutable();
        // verify wants every Exec*= program to exist: run the repository's bin/migtunnel in place of
        // the installed one, and verify the template as an instance.
        Path destination = installForVerify(DESTINATION, DESTINATION);
        Path source = installForVerify(SOURCE, instance(SOURCE, PEER));
        List<String> command = List.of("systemd-analyze", "verify", "--man=no", "--recursive-errors=no",
            destination.toString(), source.toString());

        Cmd.Result r = Cmd.run(Duration.ofSeconds(60), command);

        String output = (r.stdout() + "\n" + r.stderr()).strip();
        System.out.println(String.join(" ", command) + " -> exit " + r.exitCode()
            + (output.isEmpty() ? ", no output" : "\n" + output));
        List<String> problems = output.lines()
            .filter(line -> line.contains("migtunnel-destination") || line.contains("migtunnel-source")
                || line.contains(dir.toString()))
            .toList();
        assertThat(problems).as("lines of systemd-analyze verify about the units:\n%s", r.describe()).isEmpty();
        assertThat(r.exitCode()).as(r.describe()).isZero();
    }

    @Test
    void everyOptionInTheUnitsAndTheirEnvironmentFilesIsAnOptionOfItsRole() throws Exception {
        Map<String, List<String>> commands = Map.of(
            "destination", destinationUnit().commandLine(Map.of()),
            "source", sourceUnit().commandLine(Map.of()));
        Map<String, Path> envFiles = Map.of("destination", DESTINATION_ENV, "source", SOURCE_ENV);
        for (String role : List.of("destination", "source")) {
            List<String> args = commands.get(role);
            assertThat(args.subList(0, 2)).as("program and role").containsExactly(INSTALLED_BINARY, role);
            Set<String> used = new TreeSet<>();
            for (String arg : args) {
                if (arg.startsWith("--")) {
                    used.add(arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg);
                }
            }
            // the example environment files mention further options, in values and in comments
            Matcher m = OPTION.matcher(Files.readString(envFiles.get(role)));
            while (m.find()) {
                used.add(m.group());
            }
            Set<String> known = helpOptions(role);
            assertThat(known).as("options in `migtunnel %s --help`", role).contains("--help", "--metrics");
            assertThat(known).as("`migtunnel %s --help` against the options of the %s unit and %s",
                role, role, envFiles.get(role)).containsAll(used);
        }
        assertThat(commands.get("destination")).as("the destination's command line")
            .contains("--listen", "--route", "--tls-cert", "--tls-key", "--tls-ca", "--metrics")
            .anyMatch(a -> a.startsWith("--tls-allow-subject="));
        assertThat(commands.get("source")).as("the source's command line")
            .contains("--connect", "--expose", "--tls-cert", "--tls-key", "--tls-ca", "--metrics");
    }

    @Test
    void aSourceToPeerExposesThePathsPeersDestinationRoutesInItsOwnRuntimeDirectory() throws Exception {
        Unit destination = destinationUnit();
        Unit source = sourceUnit();
        Map<String, String> routes = named(destination.commandLine(Map.of()), "--route");
        Map<String, String> exposed = named(source.commandLine(Map.of()), "--expose");
        String incoming = "/run/migtunnel/" + PEER;

        // libvirt: --migrateuri unix:///run/migtunnel/PEER/mig.sock --disks-uri unix:///run/migtunnel/PEER/nbd.sock,
        // the same paths on both hosts
        assertThat(exposed).as("source@%s --expose", PEER)
            .containsExactly(Map.entry("migration", incoming + "/mig.sock"), Map.entry("nbd", incoming + "/nbd.sock"));
        assertThat(routes).as("the destination's --route on %s", PEER).isEqualTo(exposed);
        // the source's sockets live in the directory systemd makes for the instance, and removes
        assertThat(source.specified("Service", "RuntimeDirectory")).containsExactly("migtunnel/" + PEER);
        assertThat(source.specified("Service", "EnvironmentFile"))
            .containsExactly("/etc/migtunnel/source-" + PEER + ".env");
        // the destination prepares the incoming directory of its routes for the incoming QEMU
        List<String> prepare = destination.commandLine("ExecStartPre", Map.of());
        assertThat(prepare).as("ExecStartPre=").startsWith("/usr/bin/install", "-d", "-m", "0770")
            .endsWith(incoming);
        assertThat(destination.specified("Service", "RuntimeDirectory"))
            .as("the incoming directory must outlive the destination: no RuntimeDirectory=").isEmpty();
        assertThat(destination.specified("Service", "EnvironmentFile")).containsExactly("/etc/migtunnel/destination.env");
        // this host's own sources (to host-a, host-c) never use its incoming directory
        for (String other : List.of("host-a", "host-c")) {
            assertThat(named(sourceUnit(other).commandLine(Map.of()), "--expose").values())
                .allMatch(p -> p.startsWith("/run/migtunnel/" + other + "/"));
        }
        for (Unit unit : List.of(destination, source)) {
            List<String> args = unit.commandLine(Map.of());
            assertThat(List.of(value(args, "--tls-cert"), value(args, "--tls-key"), value(args, "--tls-ca")))
                .as("%s: the per-host TLS layout", unit.name)
                .containsExactly("/etc/migtunnel/tls/host.crt", "/etc/migtunnel/tls/host.key", "/etc/migtunnel/tls/ca.crt");
            assertThat(unit.specified("Service", "ReadWritePaths")).containsExactly("/run/migtunnel");
            assertThat(unit.specified("Service", "KillSignal")).containsExactly("SIGTERM");
        }
    }

    @Test
    void theUnitsCommandLinesCarryBothStreamsFromOneHostToAnother() throws Exception {
        assertThat(CLI_JAR).as("the CLI jar bin/migtunnel runs: build it with `./mvnw -q -o -DskipTests package`")
            .exists();
        Path hostA = Files.createDirectories(dir.resolve(SOURCE_HOST));
        Path hostB = Files.createDirectories(dir.resolve(PEER));
        certificates(dir.resolve("pki"), Map.of(SOURCE_HOST, hostA, PEER, hostB));
        int listen = freePort();
        int destinationMetrics = freePort();
        int sourceMetrics = freePort();
        Unit destination = destinationUnit();
        Unit source = sourceUnit();
        List<String> destinationArgs = onHost(hostB, destination.commandLine(Map.of(
            "LISTEN_ADDRESS", "127.0.0.1:" + listen, "METRICS_ADDRESS", "127.0.0.1:" + destinationMetrics)));
        List<String> sourceArgs = onHost(hostA, source.commandLine(Map.of(
            "PEER_ADDRESS", "127.0.0.1:" + listen, "METRICS_ADDRESS", "127.0.0.1:" + sourceMetrics)));
        // what ExecStartPre= and RuntimeDirectory= make on the two hosts
        Path incoming = Files.createDirectories(hostB.resolve("run/migtunnel/" + PEER),
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxrwx---")));
        Path outgoing = Files.createDirectories(hostA.resolve("run/migtunnel/" + PEER),
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        Map<String, Path> exposed = new LinkedHashMap<>();
        named(sourceArgs, "--expose").forEach((name, path) -> exposed.put(name, Path.of(path)));
        assertThat(exposed.values()).allMatch(p -> p.getParent().equals(outgoing));
        byte[] data = new byte[3 * 1024 * 1024 + 7];
        new Random(13).nextBytes(data);
        Duration stop = seconds(destination.specified("Service", "TimeoutStopSec"));

        // libvirt's incoming QEMU on host-b listens on the routed paths: echo servers stand in for it
        try (ServerSocketChannel mig = UnixSockets.echoServer(incoming.resolve("mig.sock"));
             ServerSocketChannel nbd = UnixSockets.echoServer(incoming.resolve("nbd.sock"));
             Running dst = Running.start(destinationArgs, dir.resolve("destination.log"))) {
            // systemd starts the two on different hosts in any order; a source that finds no
            // destination exits 1 and Restart=on-failure tries again 5 s later: spare the test that
            try {
                Await.until("the destination to listen on port " + listen, START, () -> {
                    dst.assertAlive();
                    return ListeningSockets.tcp(listen);
                });
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "\n" + dst.log(), e);
            }
            try (Running src = Running.start(sourceArgs, dir.resolve("source.log"))) {
                carry(src, dst, exposed, data, destinationMetrics, sourceMetrics, stop);
            }
        }
    }

    private static void carry(Running src, Running dst, Map<String, Path> exposed, byte[] data, int destinationMetrics,
                              int sourceMetrics, Duration stop) throws Exception {
        for (Path socket : exposed.values()) {
            try {
                Await.until("the source to expose " + socket, START, () -> {
                    src.assertAlive();
                    dst.assertAlive();
                    return Files.exists(socket, LinkOption.NOFOLLOW_LINKS);
                });
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "\n" + src.log() + dst.log(), e);
            }
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket, LinkOption.NOFOLLOW_LINKS)))
                .as("mode of %s", socket).isEqualTo("rw-------");
        }
        for (Map.Entry<String, Path> e : exposed.entrySet()) {
            assertThat(UnixSockets.roundTrip(e.getValue(), data)).as("stream %s through the units' tunnel", e.getKey())
                .isEqualTo(data);
        }
        assertThat(new Scraper(destinationMetrics).get("/health").statusCode()).as("destination /health").isEqualTo(200);
        assertThat(new Scraper(sourceMetrics).get("/health").statusCode()).as("source /health").isEqualTo(200);

        // systemctl stop: SIGTERM (KillSignal=), then TimeoutStopSec= before SIGKILL
        assertThat(src.terminate(stop)).as("source's exit status on SIGTERM\n%s", src.log()).isZero();
        assertThat(exposed.values()).as("sockets left after the source stopped")
            .noneMatch(p -> Files.exists(p, LinkOption.NOFOLLOW_LINKS));
        assertThat(dst.terminate(stop)).as("destination's exit status on SIGTERM\n%s", dst.log()).isZero();
    }

    // ---------------------------------------------------------------------------------------------

    private Path installForVerify(String file, String as) throws IOException {
        String text = Files.readString(UNITS.resolve(file));
        assertThat(text).as("%s runs %s", file, INSTALLED_BINARY).contains("ExecStart=" + INSTALLED_BINARY + " ");
        return Files.writeString(dir.resolve(as),
            text.replace("ExecStart=" + INSTALLED_BINARY + " ", "ExecStart=" + MIGTUNNEL.toAbsolutePath() + " "));
    }

    private static String instance(String template, String name) {
        return template.replace("@.", "@" + name + ".");
    }

    private static Unit destinationUnit() throws IOException {
        return Unit.load(UNITS.resolve(DESTINATION), null, Map.of("/etc/migtunnel/destination.env", DESTINATION_ENV));
    }

    private static Unit sourceUnit() throws IOException {
        return sourceUnit(PEER);
    }

    private static Unit sourceUnit(String peer) throws IOException {
        return Unit.load(UNITS.resolve(SOURCE), peer, Map.of("/etc/migtunnel/source-" + peer + ".env", SOURCE_ENV));
    }

    /** The option names in {@code migtunnel ROLE --help}. */
    private static Set<String> helpOptions(String role) throws Exception {
        assertThat(CLI_JAR).as("the CLI jar bin/migtunnel runs: build it with `./mvnw -q -o -DskipTests package`")
            .exists();
        Cmd.Result help = Cmd.check(Duration.ofSeconds(60), MIGTUNNEL.toString(), role, "--help");
        Set<String> names = new TreeSet<>();
        Matcher m = HELP_OPTION.matcher(help.stdout());
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    /** NAME=PATH values of every {@code option} (as "--option VALUE" or "--option=VALUE"), in order. */
    private static Map<String, String> named(List<String> args, String option) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String v : values(args, option)) {
            int eq = v.indexOf('=');
            assertThat(eq).as("%s %s is NAME=PATH", option, v).isPositive();
            assertThat(out.put(v.substring(0, eq), v.substring(eq + 1))).as("%s %s twice", option, v).isNull();
        }
        return out;
    }

    private static String value(List<String> args, String option) {
        List<String> all = values(args, option);
        assertThat(all).as("values of %s in %s", option, args).hasSize(1);
        return all.get(0);
    }

    private static List<String> values(List<String> args, String option) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            if (args.get(i).equals(option) && i + 1 < args.size()) {
                out.add(args.get(++i));
            } else if (args.get(i).startsWith(option + "=")) {
                out.add(args.get(i).substring(option.length() + 1));
            }
        }
        return out;
    }

    /** The command line as it runs on {@code host}: its /etc/migtunnel and /run/migtunnel, this checkout's bin/migtunnel. */
    private static List<String> onHost(Path host, List<String> args) {
        List<String> out = new ArrayList<>();
        out.add(MIGTUNNEL.toAbsolutePath().toString());
        for (String arg : args.subList(1, args.size())) {
            out.add(arg.replace("/etc/migtunnel/", host.resolve("etc/migtunnel") + "/")
                .replace("/run/migtunnel/", host.resolve("run/migtunnel") + "/"));
        }
        return out;
    }

    private static Duration seconds(List<String> timespan) {
        assertThat(timespan).hasSize(1);
        Matcher m = Pattern.compile("(\\d+)s?").matcher(timespan.get(0));
        assertThat(m.matches()).as("TimeoutStopSec=%s in seconds", timespan.get(0)).isTrue();
        return Duration.ofSeconds(Long.parseLong(m.group(1)));
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /**
     * README's per-host layout, made as README makes it: one CA, and for each host a certificate for
     * both roles (serverAuth and clientAuth) with its name as CN and subjectAltName DNS, installed
     * as HOST/etc/migtunnel/tls/{ca.crt,host.crt,host.key}.
     */
    private static void certificates(Path pki, Map<String, Path> hosts) throws Exception {
        RealBinaries.check("openssl");
        Files.createDirectories(pki);
        openssl(pki, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ca.key");
        openssl(pki, "req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=migtunnel-ca", "-days", "2",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign", "-out", "ca.crt");
        for (Map.Entry<String, Path> host : hosts.entrySet()) {
            String h = host.getKey();
            openssl(pki, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", h + ".key");
            openssl(pki, "req", "-new", "-key", h + ".key", "-subj", "/CN=" + h, "-out", h + ".csr");
            Files.writeString(pki.resolve(h + ".ext"), "basicConstraints=CA:FALSE\n"
                + "extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:" + h + "\n");
            openssl(pki, "x509", "-req", "-in", h + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "2", "-extfile", h + ".ext", "-out", h + ".crt");
            Path tls = Files.createDirectories(host.getValue().resolve("etc/migtunnel/tls"));
            Files.copy(pki.resolve("ca.crt"), tls.resolve("ca.crt"));
            Files.copy(pki.resolve(h + ".crt"), tls.resolve("host.crt"));
            Files.copy(pki.resolve(h + ".key"), tls.resolve("host.key"));
            Files.setPosixFilePermissions(tls.resolve("host.key"), PosixFilePermissions.fromString("rw-------"));
        }
    }

    private static void openssl(Path cwd, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("openssl"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).directory(cwd.toFile()).redirectErrorStream(true)
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        String output = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("%s finished", command).isTrue();
        assertThat(p.exitValue()).as("%s: %s", command, output).isZero();
    }

    /** A role started from a unit's command line, its output in a log file; killed on close. */
    private record Running(Process process, Path logFile) implements AutoCloseable {
        static Running start(List<String> command, Path log) throws IOException {
            return new Running(new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start(), log);
        }

        String log() throws IOException {
            return "--- " + logFile.getFileName() + " ---\n" + Cmd.tail(Files.readString(logFile)) + "\n";
        }

        void assertAlive() throws IOException {
            if (!process.isAlive()) {
                throw new AssertionError(logFile.getFileName() + ": exited " + process.exitValue());
            }
        }

        /** SIGTERM, as KillSignal=SIGTERM; the exit status, or a failure after {@code timeout}. */
        int terminate(Duration timeout) throws Exception {
            process.destroy();
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError(logFile.getFileName() + ": still running " + timeout
                    + " after SIGTERM (systemd would SIGKILL it now)\n" + log());
            }
            return process.exitValue();
        }

        @Override
        public void close() {
            process.destroyForcibly();
        }
    }

    /**
     * A unit file read as systemd reads it, as far as these units need: sections, KEY=VALUE lines,
     * comments, backslash continuations; %i, %H and %% in values; Environment= and
     * EnvironmentFile=; command lines split into words with ${VAR} (one word) and a lone $VAR
     * (split at whitespace) substituted.
     */
    static final class Unit {
        private static final String HOSTNAME = "this-host";
        private static final Pattern BRACED = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)}");
        private static final Pattern LONE = Pattern.compile("\\$([A-Za-z_][A-Za-z0-9_]*)");

        final String name;
        private final String instance;
        private final Map<String, Path> envFiles;
        private final List<String[]> directives = new ArrayList<>();

        private Unit(String name, String instance, Map<String, Path> envFiles) {
            this.name = name;
            this.instance = instance;
            this.envFiles = envFiles;
        }

        /** {@code file} as instance {@code instance} (null: not a template); {@code envFiles}: installed path -> file to read. */
        static Unit load(Path file, String instance, Map<String, Path> envFiles) throws IOException {
            Unit unit = new Unit(file.getFileName().toString(), instance, envFiles);
            String section = null;
            StringBuilder pending = null;
            for (String raw : Files.readAllLines(file)) {
                String line = raw.strip();
                if (line.isEmpty() || line.startsWith("#") || line.startsWith(";")) {
                    continue; // a comment inside a continuation is skipped too
                }
                if (line.endsWith("\\")) {
                    pending = (pending == null ? new StringBuilder() : pending)
                        .append(line, 0, line.length() - 1).append(' ');
                    continue;
                }
                if (pending != null) {
                    line = pending.append(line).toString();
                    pending = null;
                }
                if (line.startsWith("[")) {
                    assertThat(line).as("%s: section header", file).endsWith("]");
                    section = line.substring(1, line.length() - 1);
                    continue;
                }
                int eq = line.indexOf('=');
                assertThat(eq).as("%s: KEY=VALUE: %s", file, line).isPositive();
                assertThat(section).as("%s: %s outside a section", file, line).isNotNull();
                unit.directives.add(new String[] {section, line.substring(0, eq).strip(), line.substring(eq + 1).strip()});
            }
            assertThat(pending).as("%s ends in a continuation", file).isNull();
            return unit;
        }

        /** The values of KEY in SECTION, in order, specifiers resolved. */
        List<String> specified(String section, String key) {
            return directives.stream().filter(d -> d[0].equals(section) && d[1].equals(key))
                .map(d -> specifiers(d[2])).collect(Collectors.toList());
        }

        /** ExecStart= as the program runs it, with the example environment and then {@code overrides}. */
        List<String> commandLine(Map<String, String> overrides) throws IOException {
            return commandLine("ExecStart", overrides);
        }

        List<String> commandLine(String key, Map<String, String> overrides) throws IOException {
            List<String> lines = specified("Service", key);
            assertThat(lines).as("%s: %s=", name, key).hasSize(1);
            Map<String, String> env = environment();
            env.putAll(overrides);
            List<String> args = new ArrayList<>();
            for (String word : words(lines.get(0))) {
                Matcher lone = LONE.matcher(word);
                if (lone.matches()) {
                    String value = env.getOrDefault(lone.group(1), "");
                    for (String part : value.strip().split("\\s+")) {
                        if (!part.isEmpty()) {
                            args.add(part);
                        }
                    }
                    continue;
                }
                Matcher braced = BRACED.matcher(word);
                StringBuilder sb = new StringBuilder();
                while (braced.find()) {
                    String var = braced.group(1);
                    assertThat(env).as("%s: ${%s} is set by the unit or its example environment file", name, var)
                        .containsKey(var);
                    braced.appendReplacement(sb, Matcher.quoteReplacement(env.get(var)));
                }
                braced.appendTail(sb);
                assertThat(sb.toString()).as("%s: an unsupported $ in %s", name, word).doesNotContain("$");
                args.add(sb.toString());
            }
            // executable prefixes: - (failure ignored), + (full privileges), @, :, !
            args.set(0, args.get(0).replaceFirst("^[-+@:!]+", ""));
            return args;
        }

        /** Environment= in order, then every EnvironmentFile= (which overrides them). */
        private Map<String, String> environment() throws IOException {
            Map<String, String> env = new LinkedHashMap<>();
            for (String assignments : specified("Service", "Environment")) {
                for (String a : words(assignments)) {
                    int eq = a.indexOf('=');
                    assertThat(eq).as("%s: Environment=%s", name, a).isPositive();
                    env.put(a.substring(0, eq), a.substring(eq + 1));
                }
            }
            for (String file : specified("Service", "EnvironmentFile")) {
                String path = file.startsWith("-") ? file.substring(1) : file;
                Path example = envFiles.get(path);
                assertThat(example).as("%s: an example for EnvironmentFile=%s", name, file).isNotNull();
                env.putAll(envFile(example));
            }
            return env;
        }

        private String specifiers(String value) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < value.length(); i++) {
                char c = value.charAt(i);
                if (c != '%') {
                    sb.append(c);
                    continue;
                }
                assertThat(i + 1).as("%s: a lone %% at the end of %s", name, value).isLessThan(value.length());
                char s = value.charAt(++i);
                switch (s) {
                    case '%' -> sb.append('%');
                    case 'H' -> sb.append(HOSTNAME);
                    case 'i' -> {
                        assertThat(instance).as("%s: %%i outside a template", name).isNotNull();
                        sb.append(instance);
                    }
                    default -> fail(name + ": specifier %" + s + " in " + value + " is not one this test knows");
                }
            }
            return sb.toString();
        }

        /** Splits at whitespace outside "..." and '...', as systemd splits command lines. */
        static List<String> words(String line) {
            List<String> out = new ArrayList<>();
            StringBuilder word = null;
            char quote = 0;
            for (int i = 0; i < line.length(); i++) {
                char c = line.charAt(i);
                if (quote != 0) {
                    if (c == quote) {
                        quote = 0;
                    } else if (c == '\\' && quote == '"' && i + 1 < line.length()) {
                        word.append(line.charAt(++i));
                    } else {
                        word.append(c);
                    }
                } else if (Character.isWhitespace(c)) {
                    if (word != null) {
                        out.add(word.toString());
                        word = null;
                    }
                } else {
                    if (word == null) {
                        word = new StringBuilder();
                    }
                    if (c == '"' || c == '\'') {
                        quote = c;
                    } else if (c == '\\' && i + 1 < line.length()) {
                        word.append(line.charAt(++i));
                    } else {
                        word.append(c);
                    }
                }
            }
            assertThat(quote).as("unterminated quote in %s", line).isEqualTo((char) 0);
            if (word != null) {
                out.add(word.toString());
            }
            return out;
        }

        /** KEY=VALUE lines of an environment file: # and ; comments, values unquoted, "double" or 'single' quoted. */
        static Map<String, String> envFile(Path file) throws IOException {
            Map<String, String> env = new LinkedHashMap<>();
            Set<String> seen = new LinkedHashSet<>();
            for (String raw : Files.readAllLines(file)) {
                String line = raw.strip();
                if (line.isEmpty() || line.startsWith("#") || line.startsWith(";")) {
                    continue;
                }
                int eq = line.indexOf('=');
                assertThat(eq).as("%s: KEY=VALUE: %s", file, line).isPositive();
                String key = line.substring(0, eq).strip();
                assertThat(key).as("%s: a variable name", file).matches("[A-Za-z_][A-Za-z0-9_]*");
                assertThat(seen.add(key)).as("%s sets %s twice", file, key).isTrue();
                String value = line.substring(eq + 1).strip();
                assertThat(value).as("%s: %s continues on the next line", file, key).doesNotEndWith("\\");
                List<String> words = value.isEmpty() ? List.of("") : words(value);
                boolean quoted = value.startsWith("\"") || value.startsWith("'");
                assertThat(!quoted || words.size() == 1).as("%s: %s=%s is one quoted value", file, key, value).isTrue();
                env.put(key, quoted ? words.get(0) : value);
            }
            return env;
        }
    }
}
