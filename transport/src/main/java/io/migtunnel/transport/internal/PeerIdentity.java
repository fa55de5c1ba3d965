package io.migtunnel.transport.internal;

import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.security.auth.x500.X500Principal;

/**
 * Who is at the other end of a tunnel connection, for the resume check (PROTOCOL.md section
 * 13.3): the leaf certificate's subject and public key. A resuming connection must present the
 * same, so a stolen session token is worthless to a host with another certificate.
 */
record PeerIdentity(String subject, String publicKey) {
    /** The identity on {@code ch}; null in plaintext, or with TLS but no client certificate. */
    static PeerIdentity of(Channel ch) {
        SslHandler tls = ch.pipeline().get(SslHandler.class);
        if (tls == null) {
            return null;
        }
        try {
            Certificate[] chain = tls.engine().getSession().getPeerCertificates();
            X509Certificate leaf = (X509Certificate) chain[0];
            return new PeerIdentity(leaf.getSubjectX500Principal().getName(X500Principal.RFC2253),
                HexFormat.of().formatHex(leaf.getPublicKey().getEncoded()));
        } catch (SSLPeerUnverifiedException | RuntimeException e) {
            return null;
        }
    }

    @Override
    public String toString() {
        return subject;
    }
}
