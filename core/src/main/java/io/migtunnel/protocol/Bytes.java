package io.migtunnel.protocol;

import io.netty.buffer.ByteBuf;

/** Fixed-size byte fields of the resumption frames. */
final class Bytes {
    private Bytes() {
    }

    /** {@code value}, checked to be {@code size} bytes long. */
    static byte[] exactly(byte[] value, int size, String what) {
        if (value.length != size) {
            throw new IllegalArgumentException(what + " must be " + size + " bytes, got " + value.length);
        }
        return value;
    }

    /** A copy of the {@code size} bytes at {@code offset} from the payload's reader index. */
    static byte[] get(ByteBuf payload, int offset, int size) {
        byte[] out = new byte[size];
        payload.getBytes(payload.readerIndex() + offset, out);
        return out;
    }
}
