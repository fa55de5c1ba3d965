package io.migtunnel.examples.libvirt;

import io.migtunnel.testing.Cmd;
import io.migtunnel.testing.RealBinaries;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The README's TLS layout per host ("A cluster", "TLS, per host"), made as the README makes it:
 * one CA; for each host a P-256 key and a certificate for both roles (serverAuth and clientAuth)
 * whose CN and subjectAltName DNS are the host's name; installed on the host as
 * {@code /etc/migtunnel/tls/ca.crt}, {@code host.crt} and {@code host.key} (0600).
 */
final class HostCertificates {
    static final String CA = "/etc/migtunnel/tls/ca.crt";
    static final String CERT = "/etc/migtunnel/tls/host.crt";
    static final String KEY = "/etc/migtunnel/tls/host.key";
    private static final Duration OPENSSL = Duration.ofSeconds(30);

    private final Path pki;

    private HostCertificates(Path pki) {
        this.pki = pki;
    }

    /** A new CA in {@code pki} (its key never leaves that directory). */
    static HostCertificates newCa(Path pki) throws Exception {
        RealBinaries.check("openssl");
        Files.createDirectories(pki);
        HostCertificates c = new HostCertificates(pki);
        c.openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", c.file("ca.key"));
        c.openssl("req", "-x509", "-new", "-key", c.file("ca.key"), "-subj", "/CN=migtunnel-ca", "-days", "2",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
            "-out", c.file("ca.crt"));
        return c;
    }

    /** Issues {@code host}'s certificate and installs it, its key and the CA's certificate on it. */
    void install(LibvirtHost host) throws Exception {
        String h = host.name();
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", file(h + ".key"));
        openssl("req", "-new", "-key", file(h + ".key"), "-subj", "/CN=" + h, "-out", file(h + ".csr"));
        Files.writeString(pki.resolve(h + ".ext"), "basicConstraints=CA:FALSE\n"
            + "extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:" + h + "\n");
        openssl("x509", "-req", "-in", file(h + ".csr"), "-CA", file("ca.crt"), "-CAkey", file("ca.key"),
            "-CAcreateserial", "-days", "2", "-extfile", file(h + ".ext"), "-out", file(h + ".crt"));
        host.directory("/etc/migtunnel/tls", "rwxr-xr-x");
        Files.copy(pki.resolve("ca.crt"), host.path(CA));
        Files.copy(pki.resolve(h + ".crt"), host.path(CERT));
        Files.copy(pki.resolve(h + ".key"), host.path(KEY));
        Files.setPosixFilePermissions(host.path(KEY), PosixFilePermissions.fromString("rw-------"));
    }

    /** The TLS options of both roles, the installed paths. */
    static List<String> options() {
        return List.of("--tls-cert", CERT, "--tls-key", KEY, "--tls-ca", CA);
    }

    private String file(String name) {
        return pki.resolve(name).toString();
    }

    private void openssl(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("openssl"));
        command.addAll(List.of(args));
        Cmd.Result r = Cmd.run(OPENSSL, command);
        if (r.exitCode() != 0) {
            throw new AssertionError(r.describe());
        }
    }
}
