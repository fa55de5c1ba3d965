package io.migtunnel.transport;

import io.migtunnel.protocol.Frame;
import io.migtunnel.protocol.FrameType;
import io.migtunnel.protocol.GoAwayFrameCodec;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.function.Predicate;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * A hand-driven TLS client of a destination, with a certificate of the test's choosing: it sends
 * the frames a test writes, byte for byte, and reads what comes back. For attacks a real source
 * would never make.
 */
final class RawTlsPeer implements AutoCloseable {
    private final SSLSocket socket;

    RawTlsPeer(InetSocketAddress destination, TunnelTls identity) throws Exception {
        SSLContext tls = SSLContext.getInstance("TLSv1.3");
        tls.init(keys(identity).getKeyManagers(), trust(identity.caCertificate()).getTrustManagers(), null);
        socket = (SSLSocket) tls.getSocketFactory().createSocket(destination.getAddress(), destination.getPort());
        socket.setSoTimeout(10_000);
        socket.startHandshake();
    }

    /** Writes {@code frames} (released after) and flushes. */
    RawTlsPeer send(ByteBuf... frames) throws IOException {
        OutputStream out = socket.getOutputStream();
        for (ByteBuf f : frames) {
            try {
                byte[] bytes = new byte[f.readableBytes()];
                f.readBytes(bytes);
                out.write(bytes);
            } finally {
                f.release();
            }
        }
        out.flush();
        return this;
    }

    /** Reads frames until one of {@code type}; returns a copy of its payload, or null when the connection ended first. */
    byte[] await(FrameType type) throws IOException {
        byte[][] payload = new byte[1][];
        Predicate<Frame> done = f -> {
            if (f.type() == type) {
                payload[0] = new byte[f.payload().readableBytes()];
                f.payload().getBytes(f.payload().readerIndex(), payload[0]);
                return true;
            }
            return false;
        };
        return PeerFrames.readUntil(socket.getInputStream(), done) ? payload[0] : null;
    }

    /** "CODE: message" of the GOAWAY the destination answers with (null when it closed without one). */
    String goAwayMessage() throws IOException {
        byte[] payload = await(FrameType.GOAWAY);
        if (payload == null) {
            return null;
        }
        ByteBuf frame = io.netty.buffer.Unpooled.wrappedBuffer(payload);
        return io.migtunnel.protocol.ErrorCode.describe(GoAwayFrameCodec.code(frame)) + ": "
            + GoAwayFrameCodec.message(frame);
    }

    InputStream in() throws IOException {
        return socket.getInputStream();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    private static KeyManagerFactory keys(TunnelTls identity) throws Exception {
        String pem = Files.readString(identity.key(), StandardCharsets.US_ASCII);
        byte[] der = Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", ""));
        PrivateKey key = KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(der));
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry("me", key, new char[0], certificates(identity.certificate()).toArray(new Certificate[0]));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(store, new char[0]);
        return kmf;
    }

    private static TrustManagerFactory trust(Path ca) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        int i = 0;
        for (Certificate c : certificates(ca)) {
            store.setCertificateEntry("ca" + i++, c);
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(store);
        return tmf;
    }

    private static List<Certificate> certificates(Path pem) throws Exception {
        try (InputStream in = Files.newInputStream(pem)) {
            return new ArrayList<>(CertificateFactory.getInstance("X.509").generateCertificates(in));
        }
    }
}
