package io.migtunnel.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/** SESSION (section 13.2): this connection's nonce (32), a session token (16) and secret (32). */
public final class SessionFrameCodec {
    public static final int NONCE_BYTES = 32;
    public static final int TOKEN_BYTES = 16;
    public static final int SECRET_BYTES = 32;
    static final int LENGTH = NONCE_BYTES + TOKEN_BYTES + SECRET_BYTES;

    private SessionFrameCodec() {
    }

    public static ByteBuf encode(ByteBufAllocator alloc, byte[] nonce, byte[] token, byte[] secret) {
        ByteBuf buf = FrameHeaderCodec.encode(alloc, FrameType.SESSION, 0, 0, LENGTH, LENGTH);
        buf.writeBytes(Bytes.exactly(nonce, NONCE_BYTES, "nonce"));
        buf.writeBytes(Bytes.exactly(token, TOKEN_BYTES, "token"));
        buf.writeBytes(Bytes.exactly(secret, SECRET_BYTES, "secret"));
        return buf;
    }

    public static byte[] nonce(ByteBuf payload) {
        return Bytes.get(payload, 0, NONCE_BYTES);
    }

    public static byte[] token(ByteBuf payload) {
        return Bytes.get(payload, NONCE_BYTES, TOKEN_BYTES);
    }

    public static byte[] secret(ByteBuf payload) {
        return Bytes.get(payload, NONCE_BYTES + TOKEN_BYTES, SECRET_BYTES);
    }
}
