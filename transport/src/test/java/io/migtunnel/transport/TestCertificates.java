package io.migtunnel.transport;

import io.migtunnel.testing.RealBinaries;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Throwaway EC P-256 certificates made with the {@code openssl} command, as README's "Security"
 * section describes: a CA with a destination and a source certificate, and an unrelated CA with a
 * source certificate of its own, and a second source certificate from the first CA.
 */
final class TestCertificates {
    /** The DNS name in the destination's certificate; it has no IP address, so dialling 127.0.0.1 does not match. */
    static final String DESTINATION_NAME = "destination.migtunnel.test";

    final TunnelTls destination;
    final TunnelTls source;
    final TunnelTls sourceOfAnotherCa;
    /** A second source certificate from the same CA: subject {@code CN=source2}, DNS source2.migtunnel.test. */
    final TunnelTls secondSource;

    private TestCertificates(TunnelTls destination, TunnelTls source, TunnelTls sourceOfAnotherCa,
                             TunnelTls secondSource) {
        this.destination = destination;
        this.source = source;
        this.sourceOfAnotherCa = sourceOfAnotherCa;
        this.secondSource = secondSource;
    }

    static TestCertificates create(Path dir) throws Exception {
        Path ca = authority(dir, "ca");
        Path otherCa = authority(dir, "other-ca");
        return new TestCertificates(
            leaf(dir, "destination", ca, ca, "serverAuth", "DNS:" + DESTINATION_NAME),
            leaf(dir, "source", ca, ca, "clientAuth", "DNS:source.migtunnel.test"),
            leaf(dir, "stranger", otherCa, ca, "clientAuth", "DNS:stranger.migtunnel.test"),
            leaf(dir, "source2", ca, ca, "clientAuth", "DNS:source2.migtunnel.test"));
    }

    /** Writes NAME.key and NAME.crt, a self-signed CA; returns the certificate. */
    private static Path authority(Path dir, String name) throws Exception {
        Path key = newKey(dir, name);
        Path cert = dir.resolve(name + ".crt");
        openssl(dir, "req", "-x509", "-new", "-key", key.toString(), "-subj", "/CN=migtunnel test " + name,
            "-days", "2", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign", "-out", cert.toString());
        return cert;
    }

    /** A certificate for NAME signed by {@code caCert} (whose key is next to it), trusting {@code trusted}. */
    private static TunnelTls leaf(Path dir, String name, Path caCert, Path trusted, String usage, String altName)
        throws Exception {
        Path key = newKey(dir, name);
        Path csr = dir.resolve(name + ".csr");
        Path ext = dir.resolve(name + ".ext");
        Path cert = dir.resolve(name + ".crt");
        Files.writeString(ext, "basicConstraints=CA:FALSE\nextendedKeyUsage=" + usage + "\nsubjectAltName=" + altName + "\n");
        openssl(dir, "req", "-new", "-key", key.toString(), "-subj", "/CN=" + name, "-out", csr.toString());
        Path caKey = caCert.resolveSibling(caCert.getFileName().toString().replace(".crt", ".key"));
        openssl(dir, "x509", "-req", "-in", csr.toString(), "-CA", caCert.toString(), "-CAkey", caKey.toString(),
            "-set_serial", String.valueOf(System.nanoTime()), "-days", "2", "-extfile", ext.toString(),
            "-out", cert.toString());
        return TunnelTls.fromPem(cert, key, trusted);
    }

    private static Path newKey(Path dir, String name) throws Exception {
        Path key = dir.resolve(name + ".key");
        openssl(dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key.toString());
        return key;
    }

    private static void openssl(Path dir, String... args) throws Exception {
        RealBinaries.check("openssl");
        List<String> cmd = new ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("openssl " + args[0] + " did not finish");
        }
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed: " + output);
        }
    }
}
