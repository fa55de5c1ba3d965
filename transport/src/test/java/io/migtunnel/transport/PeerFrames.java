package io.migtunnel.transport;

import io.migtunnel.protocol.Frame;
import io.migtunnel.protocol.FrameDecoder;
import io.migtunnel.protocol.Limits;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.InputStream;
import java.util.function.Predicate;

/** The frames a tunnel endpoint sends to a raw socket, for tests that play the peer byte by byte. */
final class PeerFrames {
    private PeerFrames() {
    }

    /**
     * Decodes frames from {@code in} and hands each to {@code done} (which must not keep it; it is
     * released after) until {@code done} answers true. Returns false when the stream ended first.
     */
    static boolean readUntil(InputStream in, Predicate<Frame> done) throws IOException {
        ByteBuf acc = Unpooled.buffer();
        try {
            byte[] chunk = new byte[65536];
            int n;
            while ((n = in.read(chunk)) >= 0) {
                acc.writeBytes(chunk, 0, n);
                Frame f;
                while ((f = FrameDecoder.decode(acc, Limits.MAX_FRAME_PAYLOAD)) != null) {
                    try {
                        if (done.test(f)) {
                            return true;
                        }
                    } finally {
                        f.release();
                    }
                }
                acc.discardReadBytes();
            }
            return false;
        } finally {
            acc.release();
        }
    }
}
