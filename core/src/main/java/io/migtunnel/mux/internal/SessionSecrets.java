package io.migtunnel.mux.internal;

import io.migtunnel.protocol.ResumeFrameCodec;
import io.migtunnel.protocol.SessionFrameCodec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * What SESSION hands the client (PROTOCOL.md section 13): a token that names the session and a
 * secret that proves ownership, both from a CSPRNG, plus the proofs of the resume exchange.
 */
record SessionSecrets(byte[] token, byte[] secret) {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final byte[] CLIENT_LABEL = "migtunnel resume client".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SERVER_LABEL = "migtunnel resume server".getBytes(StandardCharsets.US_ASCII);

    static SessionSecrets random() {
        return new SessionSecrets(random(SessionFrameCodec.TOKEN_BYTES), random(SessionFrameCodec.SECRET_BYTES));
    }

    static byte[] nonce() {
        return random(SessionFrameCodec.NONCE_BYTES);
    }

    private static byte[] random(int n) {
        byte[] b = new byte[n];
        RANDOM.nextBytes(b);
        return b;
    }

    /** The client's proof: HMAC-SHA256(secret, label | token | server nonce | client nonce). */
    byte[] clientProof(byte[] serverNonce, byte[] clientNonce) {
        return hmac(CLIENT_LABEL, serverNonce, clientNonce);
    }

    /** The server's proof: the same over the other label and the nonces swapped. */
    byte[] serverProof(byte[] serverNonce, byte[] clientNonce) {
        return hmac(SERVER_LABEL, clientNonce, serverNonce);
    }

    /** Whether {@code token} names this session (constant time). */
    boolean names(byte[] other) {
        return MessageDigest.isEqual(token, other);
    }

    /** Compares proofs in constant time. */
    static boolean sameProof(byte[] expected, byte[] received) {
        return received.length == ResumeFrameCodec.PROOF_BYTES && MessageDigest.isEqual(expected, received);
    }

    private byte[] hmac(byte[] label, byte[] first, byte[] second) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            mac.update(label);
            mac.update(token);
            mac.update(first);
            mac.update(second);
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every Java platform", e);
        }
    }

    @Override
    public String toString() {
        return "SessionSecrets[redacted]";
    }
}
