package io.migtunnel.qemu.vm;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;

/**
 * Writes guest memory through QEMU's gdbstub ({@code -gdb unix:PATH,server=on,wait=off}), which QMP
 * cannot: connecting stops the VM, {@code M} writes the bytes, {@code D} detaches and resumes it.
 */
final class GdbMemory {
    private GdbMemory() {
    }

    /** Writes {@code bytes} at guest address {@code address} (physical, as the busy guest does not page). */
    static void write(Path socket, long address, byte[] bytes) throws IOException {
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            InputStream in = Channels.newInputStream(ch);
            OutputStream out = Channels.newOutputStream(ch);
            String reply = exchange(in, out, "M" + Long.toHexString(address) + "," + Integer.toHexString(bytes.length)
                + ":" + HexFormat.of().formatHex(bytes));
            if (!reply.equals("OK")) {
                throw new IOException("gdbstub refused the write: " + reply);
            }
            exchange(in, out, "D");
        }
    }

    private static String exchange(InputStream in, OutputStream out, String packet) throws IOException {
        int sum = 0;
        for (byte b : packet.getBytes(StandardCharsets.US_ASCII)) {
            sum = (sum + (b & 0xFF)) & 0xFF;
        }
        out.write(String.format("$%s#%02x", packet, sum).getBytes(StandardCharsets.US_ASCII));
        out.flush();
        String reply;
        do {
            reply = packet(in, out);
        } while (reply.startsWith("T") || reply.startsWith("S")); // the stop the connection caused
        return reply;
    }

    /** The next packet's payload, acknowledged; skips the '+' acknowledging ours. */
    private static String packet(InputStream in, OutputStream out) throws IOException {
        StringBuilder reply = new StringBuilder();
        int c;
        while ((c = in.read()) != '$') {
            if (c < 0) {
                throw new IOException("gdbstub closed the connection");
            }
        }
        while ((c = in.read()) != '#') {
            if (c < 0) {
                throw new IOException("gdbstub closed the connection");
            }
            reply.append((char) c);
        }
        in.read();
        in.read(); // the packet's checksum
        out.write('+');
        out.flush();
        return reply.toString();
    }
}
