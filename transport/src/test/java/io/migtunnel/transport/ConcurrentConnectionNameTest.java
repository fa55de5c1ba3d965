package io.migtunnel.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.mux.MuxStream;
import io.migtunnel.mux.SessionListener;
import io.migtunnel.testing.Await;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A socket exposed with a name for connections made while another is open (QEMU's
 * postcopy-preempt channel): the second connection opens a stream of that name, and the
 * destination, which routes both names to one socket, connects them to it in the same order.
 */
@Timeout(60)
class ConcurrentConnectionNameTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    @TempDir
    Path dir;
    private ServerSocketChannel target;
    private Tunnel destination;
    private Tunnel source;

    @AfterEach
    void stop() throws IOException {
        if (source != null) {
            source.dispose();
        }
        if (destination != null) {
            destination.dispose();
        }
        if (target != null) {
            target.close();
        }
    }

    @Test
    void aConnectionMadeWhileTheFirstIsOpenGetsTheConcurrentNameAndReachesTheTargetSecond() throws Exception {
        target = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        target.bind(UnixDomainSocketAddress.of(dir.resolve("target.sock")));
        List<String> accepted = new CopyOnWriteArrayList<>(); // the label each accepted connection carries, in order
        Thread acceptor = new Thread(() -> {
            try {
                while (true) {
                    SocketChannel ch = target.accept(); // one at a time: read its label before the next accept
                    accepted.add(readLine(ch));
                }
            } catch (IOException e) {
                // closed
            }
        }, "target-accept");
        acceptor.setDaemon(true);
        acceptor.start();
        List<String> opened = new CopyOnWriteArrayList<>();
        Path socket = dir.resolve("target.sock");
        destination = TunnelDestination.create().route("main", socket).route("main/late", socket)
            .listener(new SessionListener() {
                @Override
                public void onStreamOpened(MuxStream stream) {
                    opened.add(stream.name());
                }
            }).bind().block(TIMEOUT);
        Path exposed = dir.resolve("main-exposed.sock");
        source = TunnelSource.create().expose("main", exposed, "main/late")
            .connect(new InetSocketAddress("127.0.0.1", destination.address().getPort())).start().block(TIMEOUT);

        try (SocketChannel first = UnixClient.connect(exposed); SocketChannel second = UnixClient.connect(exposed)) {
            UnixClient.writeAll(first, "first\n".getBytes(StandardCharsets.US_ASCII));
            UnixClient.writeAll(second, "second\n".getBytes(StandardCharsets.US_ASCII));
            Await.until("both connections at the target", TIMEOUT, () -> accepted.size(), n -> n == 2);
        }
        assertThat(opened).containsExactly("main", "main/late");
        assertThat(accepted).as("the target accepts them in the order they were made").containsExactly("first", "second");
    }

    private static String readLine(SocketChannel ch) throws IOException {
        StringBuilder line = new StringBuilder();
        ByteBuffer one = ByteBuffer.allocate(1);
        while (ch.read(one) > 0) {
            char c = (char) one.flip().get();
            one.clear();
            if (c == '\n') {
                return line.toString();
            }
            line.append(c);
        }
        return line.toString();
    }
}
