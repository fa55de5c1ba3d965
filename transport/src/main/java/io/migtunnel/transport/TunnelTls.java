package io.migtunnel.transport;

import io.migtunnel.transport.internal.TlsContexts;
import io.migtunnel.transport.internal.TlsSettings;
import io.netty.handler.ssl.SslContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Set;
import javax.net.ssl.SSLException;

/**
 * Mutual TLS 1.3 for the tunnel connection, from PEM files, for either role. The destination
 * requires a client certificate signed by the CA; the source accepts only a destination
 * certificate signed by the CA. TLS wraps the whole connection; the protocol inside is unchanged.
 *
 * <p>There is no hostname verification: migration hosts are often addressed by IP, so the source
 * does not check that the destination's certificate names the address it dials. The CA is the
 * authentication: keep it private to the migration hosts (any certificate it signs is accepted
 * by both roles).
 *
 * <pre>{@code
 * TunnelTls tls = TunnelTls.fromPem(Path.of("host.crt"), Path.of("host.key"), Path.of("ca.crt"));
 * TunnelDestination.create().tls(tls)...;   TunnelSource.create().tls(tls)...;
 * }</pre>
 *
 * Immutable. The key must be an unencrypted PKCS#8 PEM ({@code BEGIN PRIVATE KEY}), as
 * {@code openssl genpkey} writes it.
 */
public final class TunnelTls {
    private final Path certificate;
    private final Path key;
    private final Path caCertificate;
    private final SslContext serverContext;
    private final SslContext clientContext;
    private final Set<String> allowSubjects;

    private TunnelTls(Path certificate, Path key, Path caCertificate, SslContext serverContext,
                      SslContext clientContext, Set<String> allowSubjects) {
        this.certificate = certificate;
        this.key = key;
        this.caCertificate = caCertificate;
        this.serverContext = serverContext;
        this.clientContext = clientContext;
        this.allowSubjects = Set.copyOf(allowSubjects);
    }

    /**
     * Loads this host's certificate (chain) and private key and the CA that signs the peers'
     * certificates; fails with {@link IllegalArgumentException} naming the problem when a file is
     * missing or unusable.
     */
    public static TunnelTls fromPem(Path certificate, Path key, Path caCertificate) {
        requireReadable("certificate", certificate);
        requireReadable("key", key);
        requireReadable("CA certificate", caCertificate);
        try {
            return new TunnelTls(certificate, key, caCertificate,
                TlsContexts.server(certificate, key, caCertificate),
                TlsContexts.client(certificate, key, caCertificate), Set.of());
        } catch (SSLException | RuntimeException e) {
            throw new IllegalArgumentException("cannot load TLS material (" + certificate + ", " + key + ", "
                + caCertificate + "): " + rootMessage(e), e);
        }
    }

    /**
     * On a destination, accept only sources whose certificate (signed by the CA) matches an
     * entry: {@code DNS:name} matches a subjectAltName DNS name, ignoring case; any other entry
     * must equal the subject DN exactly as RFC 2253 prints it (Java's
     * {@code X500Principal.getName(RFC2253)}: e.g. {@code CN=src-host,O=Example}, no spaces after
     * commas, most specific RDN first). Others get GOAWAY {@code REFUSED} naming their subject right
     * after the handshake. Empty (the default): any certificate the CA signed. Ignored by a source.
     */
    public TunnelTls allowSubjects(Set<String> subjects) {
        for (String s : subjects) {
            if (s == null || s.isBlank()) {
                throw new IllegalArgumentException("blank entry in allowSubjects");
            }
        }
        return new TunnelTls(certificate, key, caCertificate, serverContext, clientContext, subjects);
    }

    /** The allow-list of {@link #allowSubjects}; empty when any certificate of the CA is accepted. */
    public Set<String> allowedSubjects() {
        return allowSubjects;
    }

    /** This host's certificate (chain), PEM. */
    public Path certificate() {
        return certificate;
    }

    /** This host's private key, PEM. */
    public Path key() {
        return key;
    }

    /** The CA that signs the peers' certificates, PEM. */
    public Path caCertificate() {
        return caCertificate;
    }

    TlsSettings forDestination() {
        return new TlsSettings(serverContext, allowSubjects);
    }

    TlsSettings forSource() {
        return new TlsSettings(clientContext);
    }

    private static void requireReadable(String what, Path file) {
        Objects.requireNonNull(file, what);
        if (!Files.isReadable(file)) {
            throw new IllegalArgumentException("TLS " + what + " " + file + " is not a readable file");
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() != null ? t.getMessage() : t.toString();
    }

    @Override
    public String toString() {
        return "TunnelTls{certificate=" + certificate + ", caCertificate=" + caCertificate
            + (allowSubjects.isEmpty() ? "" : ", allowSubjects=" + allowSubjects) + "}";
    }
}
