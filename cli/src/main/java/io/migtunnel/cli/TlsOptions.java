package io.migtunnel.cli;

import io.migtunnel.transport.TunnelTls;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * Mutual TLS for the tunnel connection, shared by both roles, and the plaintext guard: a
 * non-loopback address without TLS needs {@code --insecure-plaintext}.
 */
final class TlsOptions {
    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    @Option(names = "--tls-cert", paramLabel = "FILE",
        description = "This host's certificate (PEM). With --tls-key and --tls-ca: mutual TLS 1.3.")
    Path cert;

    @Option(names = "--tls-key", paramLabel = "FILE", description = "This host's private key (PEM, PKCS#8).")
    Path key;

    @Option(names = "--tls-ca", paramLabel = "FILE",
        description = "The CA that signs the peers' certificates (PEM); no other peer is accepted.")
    Path ca;

    @Option(names = "--insecure-plaintext",
        description = "Allow a non-loopback address without TLS: VM memory and disks cross the network unencrypted "
            + "and unauthenticated.")
    boolean insecurePlaintext;

    /**
     * The TLS to use, or null for plaintext; refuses partial TLS flags, unusable files and a
     * non-loopback {@code address} (given as {@code option}) in plaintext without
     * {@code --insecure-plaintext}.
     */
    TunnelTls resolve(String option, InetSocketAddress address, Logger log) {
        List<String> missing = new ArrayList<>();
        if (cert == null) {
            missing.add("--tls-cert");
        }
        if (key == null) {
            missing.add("--tls-key");
        }
        if (ca == null) {
            missing.add("--tls-ca");
        }
        if (missing.isEmpty()) {
            try {
                return TunnelTls.fromPem(cert, key, ca);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), e.getMessage());
            }
        }
        if (missing.size() < 3) {
            throw new ParameterException(spec.commandLine(),
                "--tls-cert, --tls-key and --tls-ca go together: missing " + String.join(", ", missing));
        }
        if (!isLoopback(address)) {
            if (!insecurePlaintext) {
                throw new ParameterException(spec.commandLine(), option + " " + address.getHostString() + ":"
                    + address.getPort() + " is not a loopback address: give --tls-cert, --tls-key and --tls-ca, "
                    + "or --insecure-plaintext to send VM memory and disks unencrypted");
            }
            log.warn("--insecure-plaintext: VM memory and disk contents cross {} unencrypted and unauthenticated",
                address);
        }
        return null;
    }

    private static boolean isLoopback(InetSocketAddress address) {
        InetAddress resolved = address.getAddress();
        return resolved != null && resolved.isLoopbackAddress();
    }
}
