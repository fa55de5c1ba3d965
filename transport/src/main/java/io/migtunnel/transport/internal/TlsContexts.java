package io.migtunnel.transport.internal;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the TLS 1.3 contexts of the tunnel connection from PEM files: OpenSSL (BoringSSL from
 * netty-tcnative) when it loads, else the JDK's TLS.
 */
public final class TlsContexts {
    private static final Logger log = LoggerFactory.getLogger(TlsContexts.class);
    private static final String TLS_1_3 = "TLSv1.3";
    private static final AtomicBoolean providerLogged = new AtomicBoolean();

    private TlsContexts() {
    }

    /** The destination's context: it presents {@code cert} and requires a client certificate signed by {@code ca}. */
    public static SslContext server(Path cert, Path key, Path ca) throws SSLException {
        return SslContextBuilder.forServer(cert.toFile(), key.toFile())
            .trustManager(ca.toFile())
            .clientAuth(ClientAuth.REQUIRE)
            .protocols(TLS_1_3)
            .sslProvider(provider())
            .build();
    }

    /** The source's context: it presents {@code cert} and accepts only a destination certificate signed by {@code ca}. */
    public static SslContext client(Path cert, Path key, Path ca) throws SSLException {
        return SslContextBuilder.forClient()
            .keyManager(cert.toFile(), key.toFile())
            .trustManager(ca.toFile())
            .protocols(TLS_1_3)
            .sslProvider(provider())
            .build();
    }

    /** OpenSSL when netty-tcnative loads on this platform, else the JDK. */
    public static SslProvider provider() {
        SslProvider provider = OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
        if (providerLogged.compareAndSet(false, true)) {
            if (provider == SslProvider.OPENSSL) {
                log.info("TLS provider: OpenSSL ({})", OpenSsl.versionString());
            } else {
                log.info("TLS provider: JDK (OpenSSL unavailable: {})", OpenSsl.unavailabilityCause().toString());
            }
        }
        return provider;
    }
}
