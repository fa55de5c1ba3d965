package io.migtunnel.protocol;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/** UTF-8 text fields (messages) bounded to {@link Limits#MAX_MESSAGE_BYTES}. */
final class Text {
    private Text() {
    }

    /** UTF-8 bytes of {@code s}, cut to at most {@code max} bytes on a character boundary. */
    static byte[] utf8(String s, int max) {
        byte[] b = (s == null ? "" : s).getBytes(StandardCharsets.UTF_8);
        if (b.length <= max) {
            return b;
        }
        int end = max;
        while (end > 0 && (b[end] & 0xC0) == 0x80) {
            end--; // do not split a multi-byte character
        }
        byte[] cut = new byte[end];
        System.arraycopy(b, 0, cut, 0, end);
        return cut;
    }

    static String read(ByteBuf buf, int index, int length) {
        return buf.toString(index, length, StandardCharsets.UTF_8);
    }
}
