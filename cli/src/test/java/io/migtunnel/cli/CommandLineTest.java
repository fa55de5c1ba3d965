package io.migtunnel.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import io.migtunnel.mux.SessionConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import picocli.CommandLine;
import org.junit.jupiter.params.provider.CsvSource;

/** Bad arguments: one line naming the argument, exit code 2. */
class CommandLineTest {
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "destination --route a=/tmp/x                          | --listen",
        "destination --listen nocolon --route a=/tmp/x         | nocolon",
        "destination --listen 127.0.0.1:99999 --route a=/tmp/x | 99999",
        "destination --listen 127.0.0.1:1 --route noequals     | noequals",
        "source --connect 127.0.0.1:1 --expose ../up=/tmp/x    | ../up",
        "source --connect 127.0.0.1:1                          | --expose",
        "source --connect 127.0.0.1:1 --expose a=/tmp/x --bogus | --bogus",
        "source --connect 127.0.0.1:1 --expose a=/tmp/x --while-open b=c | --while-open b=c: no --expose b=... (exposed: [a])",
        "source --connect 127.0.0.1:1 --expose a=/tmp/x --while-open a=/c | --while-open a=/c: stream name '/c' looks like a path",
        "destination --listen 127.0.0.1:1 --route a=/tmp/x --metrics nocolon | nocolon",
        "frobnicate                                            | frobnicate",
        "destination --listen 0.0.0.0:1 --route a=/tmp/x       | --insecure-plaintext",
        "source --connect 192.0.2.1:1 --expose a=/tmp/x        | --insecure-plaintext",
        "destination --listen 127.0.0.1:1 --route a=/tmp/x --tls-cert /tmp/c --tls-key /tmp/k | --tls-ca",
        "source --connect 127.0.0.1:1 --expose a=/tmp/x --tls-ca /tmp/ca --tls-key /tmp/k     | --tls-cert",
        "source --connect 127.0.0.1:1 --expose a=/tmp/x --socket-mode 0999 | --socket-mode",
        "source --connect 127.0.0.1:1 --expose a=/tmp/x --socket-mode 7777 | --socket-mode",
        "destination --listen 127.0.0.1:1 --route a=/tmp/x --max-sessions 0 | --max-sessions",
        "destination --listen 127.0.0.1:1 --route a=/tmp/x --max-pending-handshakes 0 | --max-pending-handshakes",
        "destination --listen 127.0.0.1:1 --route a=/tmp/x --stream-window 65536 --max-session-buffer 65535 | --max-session-buffer",
        "source --connect 127.0.0.1:1 --expose a=/tmp/x --max-session-buffer 1000 | --max-session-buffer",
        "source --connect 127.0.0.1:1 --expose a=/tmp/x --stream-window 2G | --stream-window must be below 2 GiB",
        "source --connect 127.0.0.1:1 --expose a=/tmp/x --max-frame lots | 'lots' is not a number of bytes",
        "destination --listen 127.0.0.1:1 --route a=/tmp/x --tls-allow-subject CN=x | --tls-allow-subject",
        "source --connect 192.0.2.1:1 --expose a=/tmp/x --tls-cert /nonexistent/c --tls-key /tmp/k --tls-ca /tmp/ca | /nonexistent/c",
        "destination --listen 127.0.0.1:1                      | --qmp",
        "destination --listen 127.0.0.1:1 --qmp /tmp/a --qmp-dir /tmp | --qmp-dir",
        "destination --listen 127.0.0.1:1 --qmp-dir /nonexistent/dir | /nonexistent/dir",
        "migrate --connect 127.0.0.1:1                         | --qmp",
        "migrate --qmp /tmp/q                                  | --connect",
        "migrate --qmp /tmp/q --connect 127.0.0.1:1 --max-bandwidth fast | fast",
        "migrate --qmp /tmp/q --connect 127.0.0.1:1 --multifd -1 | multifd",
        "migrate --qmp /tmp/q --connect 127.0.0.1:1 --vm ../etc | ../etc",
        "migrate --qmp /tmp/q --connect 192.0.2.1:1            | --insecure-plaintext",
        "migrate --qmp /tmp/q --connect 127.0.0.1:1 --multifd 4 --postcopy | postcopy (--postcopy) cannot be combined with multifd (--multifd)",
        "migrate --qmp /tmp/q --connect 127.0.0.1:1 --multifd 4 --postcopy-after-precopy | switching to postcopy (--postcopy-after-precopy) cannot be combined with multifd (--multifd)",
        "migrate --qmp /tmp/q --connect 127.0.0.1:1 --multifd 4 --timeout 9 --timeout-action postcopy | (--timeout-action postcopy) cannot be combined with multifd (--multifd)",
        "migrate --qmp /tmp/q --connect 127.0.0.1:1 --compress zstd | compression (--compress zstd) needs multifd (--multifd N)",
        "migrate --qmp /tmp/q --connect 127.0.0.1:1 --multifd 2 --compress none | --compress must be zstd or zlib",
        "migrate --qmp /tmp/q --connect 127.0.0.1:1 --multifd 2 --compress lz4 | --compress must be one of [none, zlib, zstd], got 'lz4'",
        "migrate --qmp /tmp/q --connect 127.0.0.1:1 --multifd 2 --xbzrle-cache 64M | XBZRLE (--xbzrle-cache) has no effect with multifd (--multifd)",
        "migrate --qmp /tmp/q --connect 127.0.0.1:1 --timeout-action pause | --timeout-action needs --timeout",
        "migrate --qmp /tmp/q --connect 127.0.0.1:1 --timeout 10 --timeout-action later | --timeout-action must be one of [abort, postcopy, pause], got 'later'",
        "migrate --qmp /tmp/q --connect 127.0.0.1:1 --timeout 0 | the timeout must be positive",
        "migrate --qmp /tmp/q --connect 127.0.0.1:1 --postcopy --postcopy-after-precopy | --postcopy-after-precopy cannot be combined with it",
        "migrate --qmp /tmp/q --connect 127.0.0.1:1 --postcopy --timeout 5 --timeout-action postcopy | --timeout-action postcopy cannot be combined with it",
        "migrate --qmp /tmp/q --connect 127.0.0.1:1 --postcopy-preempt | postcopy-preempt (--postcopy-preempt) needs postcopy (--postcopy, --postcopy-after-precopy or --timeout-action postcopy)",
        "migrate --qmp /tmp/q --connect 127.0.0.1:1 --multifd 2 --postcopy --postcopy-preempt | postcopy (--postcopy) cannot be combined with multifd (--multifd)",
        "migrate --qmp /tmp/q --connect 127.0.0.1:1 --throttle-initial 30 | --throttle-initial and --throttle-increment need --auto-converge",
        "migrate --qmp /tmp/q --connect 127.0.0.1:1 --auto-converge --throttle-initial 100 | the initial CPU throttle must be 1 to 99 %",
        "migrate --qmp /tmp/q --connect 127.0.0.1:1 --downtime-limit 0 | the downtime limit must be 1 ms to 2000 s",
        "source --connect 127.0.0.1:1 --expose a=/tmp/x --priority nbd=8 | urgency must be 0 (most urgent) to 7",
        "source --connect 127.0.0.1:1 --expose a=/tmp/x --priority =1 | --priority",
        "destination --listen 127.0.0.1:1 --route a=/tmp/x --resume-grace -1 | --resume-grace",
        "source --connect 127.0.0.1:1 --expose a=/tmp/x --socket-mode b=0660 | --socket-mode b=0660: no --expose b=... (exposed: [a])",
        "source --connect 127.0.0.1:1 --expose libvirt=/tmp/x --socket-mode libvirt=0999 | 0999",
        "source --connect 127.0.0.1:1 --expose libvirt=/tmp/x --expose a=/tmp/y --socket-mode 0666 | --socket-mode libvirt=0666",
    })
    void badArgumentsExitTwoWithOneLineNamingIt(String args, String named) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream old = System.err;
        int code;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            code = Main.run(args.trim().split("\\s+"));
        } finally {
            System.setErr(old);
        }
        String text = err.toString(StandardCharsets.UTF_8).strip();
        assertThat(code).isEqualTo(2);
        assertThat(text.lines()).hasSize(1);
        assertThat(text).contains(named.trim());
    }

    @Test
    void byteLimitsTakeUnits() {
        DestinationCommand dest = new DestinationCommand();
        new CommandLine(dest).parseArgs("--listen", "127.0.0.1:1", "--route", "a=/tmp/x", "--stream-window", "1M",
            "--max-frame", "64K", "--max-session-buffer", "32MiB");
        SessionConfig config = dest.options.toConfig();
        assertThat(config.streamWindow()).isEqualTo(1 << 20);
        assertThat(config.maxFramePayload()).isEqualTo(64 << 10);
        assertThat(config.maxSessionBuffered()).isEqualTo(32L << 20);
    }

    @Test
    void aWiderModeForAllSocketsIsRefusedForTheLibvirtSocketNamingHowToWidenIt() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream old = System.err;
        int code;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            code = Main.run("source", "--connect", "127.0.0.1:1", "--expose", "libvirt=/tmp/mt-libvirt.sock",
                "--socket-mode", "0660");
        } finally {
            System.setErr(old);
        }
        assertThat(code).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8).strip()).isEqualTo("migtunnel: --socket-mode: refusing mode "
            + "0660 for the exposed socket 'libvirt' at /tmp/mt-libvirt.sock: whoever can connect to it controls the "
            + "destination's libvirtd; keep it 0600, or widen it for this name alone: --socket-mode libvirt=0660 "
            + "(see 'migtunnel source --help')");
    }

    @Test
    void limitsReachTheConfiguration() {
        DestinationCommand dest = new DestinationCommand();
        new CommandLine(dest).parseArgs("--listen", "127.0.0.1:1", "--route", "a=/tmp/x", "--stream-window", "65536",
            "--max-session-buffer", "196608", "--max-pending-handshakes", "5");
        assertThat(dest.options.toConfig().maxSessionBuffered()).isEqualTo(196608);
        assertThat(dest.maxPendingHandshakes).isEqualTo(5);

        DestinationCommand defaults = new DestinationCommand();
        new CommandLine(defaults).parseArgs("--listen", "127.0.0.1:1", "--route", "a=/tmp/x", "--max-streams", "4");
        assertThat(defaults.options.toConfig().maxSessionBuffered())
            .isEqualTo(4L * SessionConfig.DEFAULT_STREAM_WINDOW);
        assertThat(defaults.maxPendingHandshakes).isEqualTo(64);
        assertThat(defaults.options.toConfig().resumeGrace()).isEqualTo(java.time.Duration.ofSeconds(120));
        assertThat(defaults.options.toConfig().priorities().urgencyOf("nbd/disk0")).isEqualTo(5);
    }

    @Test
    void postcopyPreemptIsAFlagOfMigrateAndItsChannelTheMostUrgentStream() {
        MigrateCommand migrate = new MigrateCommand();
        new CommandLine(migrate).parseArgs("--qmp", "/tmp/q", "--connect", "127.0.0.1:1", "--postcopy-after-precopy",
            "--postcopy-preempt");
        assertThat(migrate.postcopyPreempt).isTrue();
        assertThat(migrate.options.toConfig().priorities().urgencyOf("migration/preempt")).isZero();
    }

    @Test
    void prioritiesReachTheConfigurationALaterOneWinning() {
        DestinationCommand dest = new DestinationCommand();
        new CommandLine(dest).parseArgs("--listen", "127.0.0.1:1", "--route", "a=/tmp/x", "--priority", "nbd/*=6",
            "--priority", "nbd/disk0=2", "--priority", "vm7-ctl=0", "--resume-grace", "0");
        SessionConfig config = dest.options.toConfig();
        assertThat(config.priorities().urgencyOf("nbd/disk0")).isEqualTo(2);
        assertThat(config.priorities().urgencyOf("nbd/disk1")).isEqualTo(6);
        assertThat(config.priorities().urgencyOf("vm7-ctl")).isZero();
        assertThat(config.priorities().urgencyOf("migration")).isEqualTo(1);
        assertThat(config.resumable()).isFalse();
    }
}
