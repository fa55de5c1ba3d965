package io.migtunnel.transport.internal;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import reactor.netty.tcp.TcpClient;
import reactor.netty.tcp.TcpServer;

/**
 * TLS for one role. Reactor Netty fires the connection callbacks only after the handshake, and
 * drops a peer that does not complete it within the handshake timeout. A source does not verify
 * that the destination's certificate names the address it dials (see {@code TunnelTls}).
 *
 * @param allowSubjects on a destination, the peer certificates allowed (see {@link PeerSubjects});
 *                      empty: any the CA signed
 */
public record TlsSettings(SslContext context, Set<String> allowSubjects) {
    public TlsSettings {
        Objects.requireNonNull(context);
        allowSubjects = Set.copyOf(allowSubjects);
    }

    public TlsSettings(SslContext context) {
        this(context, Set.of());
    }

    /** {@code server} with TLS, or unchanged when {@code tls} is null. */
    static TcpServer secure(TcpServer server, TlsSettings tls, Duration handshakeTimeout) {
        if (tls == null) {
            return server;
        }
        return server.secure(spec -> spec.sslContext(tls.context).handshakeTimeout(handshakeTimeout));
    }

    /** {@code client} with TLS, or unchanged when {@code tls} is null. */
    static TcpClient secure(TcpClient client, TlsSettings tls, Duration handshakeTimeout) {
        if (tls == null) {
            return client;
        }
        return client.secure(spec -> spec.sslContext(tls.context).handshakeTimeout(handshakeTimeout)
            .handlerConfigurator(TlsSettings::withoutHostnameVerification));
    }

    /** Whatever the library's default: the CA is the authentication. */
    private static void withoutHostnameVerification(SslHandler handler) {
        SSLEngine engine = handler.engine();
        SSLParameters params = engine.getSSLParameters();
        params.setEndpointIdentificationAlgorithm(null);
        engine.setSSLParameters(params);
    }
}
