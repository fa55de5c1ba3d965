package io.migtunnel.transport.internal;

import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.security.auth.x500.X500Principal;

/**
 * The allow-list of peer certificates on a destination. An entry {@code DNS:name} matches a
 * subjectAltName DNS name (ignoring case); any other entry must equal the subject DN exactly as
 * RFC 2253 prints it ({@link X500Principal#RFC2253}, e.g. {@code CN=src,O=Example}).
 */
final class PeerSubjects {
    private static final int SAN_DNS = 2;

    private PeerSubjects() {
    }

    /** Null when the peer on {@code ch} is allowed (or the list is empty), else why it is refused. */
    static String refusal(Channel ch, Set<String> allowed) {
        if (allowed.isEmpty()) {
            return null;
        }
        SslHandler tls = ch.pipeline().get(SslHandler.class);
        if (tls == null) {
            return "no TLS session to check the peer certificate against tls-allow-subject";
        }
        X509Certificate cert;
        try {
            Certificate[] chain = tls.engine().getSession().getPeerCertificates();
            cert = (X509Certificate) chain[0];
        } catch (SSLPeerUnverifiedException | RuntimeException e) {
            return "no peer certificate to check against tls-allow-subject: " + e.getMessage();
        }
        String subject = cert.getSubjectX500Principal().getName(X500Principal.RFC2253);
        List<String> dnsNames = dnsNames(cert);
        for (String entry : allowed) {
            if (entry.regionMatches(true, 0, "DNS:", 0, 4)) {
                String name = entry.substring(4).toLowerCase(Locale.ROOT);
                if (dnsNames.contains(name)) {
                    return null;
                }
            } else if (entry.equals(subject)) {
                return null;
            }
        }
        return "peer certificate subject " + subject + (dnsNames.isEmpty() ? "" : " (DNS " + dnsNames + ")")
            + " is not in tls-allow-subject";
    }

    private static List<String> dnsNames(X509Certificate cert) {
        List<String> names = new ArrayList<>();
        try {
            Collection<List<?>> sans = cert.getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    if (san.size() == 2 && Integer.valueOf(SAN_DNS).equals(san.get(0)) && san.get(1) instanceof String s) {
                        names.add(s.toLowerCase(Locale.ROOT));
                    }
                }
            }
        } catch (CertificateParsingException e) {
            // no usable SANs: only the subject can match
        }
        return names;
    }
}
