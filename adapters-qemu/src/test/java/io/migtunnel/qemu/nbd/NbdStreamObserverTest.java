package io.migtunnel.qemu.nbd;

import io.migtunnel.testing.Cmd;
import io.migtunnel.testing.ExternalProcesses;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.testing.RealBinaries;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The passive NBD decoder watching real nbdcopy ↔ qemu-nbd traffic, and garbage. */
@Timeout(120)
class NbdStreamObserverTest {
    private static final int SIZE = 32 * 1024 * 1024;

    @TempDir
    Path dir;
    private ExternalProcesses processes;

    /** Counts what the observer reports. */
    static final class Counting implements NbdRecorder {
        final Map<NbdCommand, Long> requests = new EnumMap<>(NbdCommand.class);
        final Map<NbdCommand, Long> replies = new EnumMap<>(NbdCommand.class);
        final Map<NbdCommand, Long> requestBytes = new EnumMap<>(NbdCommand.class);
        final Map<NbdCommand, Long> replyBytes = new EnumMap<>(NbdCommand.class);
        final List<String> undecodable = new ArrayList<>();
        long errors;
        long maxLatency;

        @Override
        public void onRequest(NbdCommand command, long length) {
            requests.merge(command, 1L, Long::sum);
            requestBytes.merge(command, length, Long::sum);
        }

        @Override
        public void onReply(NbdCommand command, long payloadBytes, long latencyNanos, int error) {
            replies.merge(command, 1L, Long::sum);
            replyBytes.merge(command, payloadBytes, Long::sum);
            errors += error != 0 ? 1 : 0;
            maxLatency = Math.max(maxLatency, latencyNanos);
        }

        @Override
        public void onUndecodable(String reason) {
            undecodable.add(reason);
        }
    }

    @BeforeEach
    void processes() {
        processes = new ExternalProcesses(dir);
    }

    @AfterEach
    void stop() {
        processes.close();
    }

    /** Forwards one accepted connection to {@code target}, showing every byte to the observer. */
    private static Thread relay(ServerSocketChannel server, Path target, NbdStreamObserver observer) {
        Thread t = new Thread(() -> {
            try (SocketChannel client = server.accept();
                 SocketChannel upstream = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                upstream.connect(UnixDomainSocketAddress.of(target));
                Thread back = new Thread(() -> pump(upstream, client, observer, false));
                back.start();
                pump(client, upstream, observer, true);
                back.join();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static void pump(SocketChannel from, SocketChannel to, NbdStreamObserver observer, boolean toServer) {
        ByteBuffer buf = ByteBuffer.allocate(256 * 1024);
        try {
            while (from.read(buf) >= 0) {
                buf.flip();
                ByteBuf view = Unpooled.wrappedBuffer(buf.duplicate());
                synchronized (observer) {
                    if (toServer) {
                        observer.clientToServer(view);
                    } else {
                        observer.serverToClient(view);
                    }
                }
                while (buf.hasRemaining()) {
                    to.write(buf);
                }
                buf.clear();
            }
            to.shutdownOutput();
        } catch (IOException ignored) {
            // the other side closed; the test asserts on what was observed
        }
    }

    private Counting copyThroughObserver(String... nbdcopyArgs) throws Exception {
        Path nbdSock = dir.resolve("nbd.sock");
        Path relaySock = dir.resolve("relay.sock");
        Counting counts = new Counting();
        NbdStreamObserver observer = new NbdStreamObserver(counts);
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            Files.deleteIfExists(relaySock);
            server.bind(UnixDomainSocketAddress.of(relaySock));
            Thread relay = relay(server, nbdSock, observer);
            String uri = "nbd+unix:///disk?socket=" + relaySock;
            List<String> cmd = new ArrayList<>(List.of("nbdcopy", "-C", "1", "-T", "1"));
            for (String a : nbdcopyArgs) {
                cmd.add(a.replace("URI", uri));
            }
            Cmd.check(Duration.ofSeconds(60), cmd.toArray(String[]::new));
            relay.join(TimeUnit.SECONDS.toMillis(30));
        }
        synchronized (observer) {
            assertThat(observer.inFlight()).as("every request was answered").isZero();
            assertThat(observer.isBroken()).as("decoding never stopped: %s", counts.undecodable).isFalse();
        }
        return counts;
    }

    @Test
    void countsRealWritesAndReadsBetweenNbdcopyAndQemuNbd() throws Exception {
        RealBinaries.require("qemu-nbd", "nbdcopy");
        Path image = dir.resolve("disk.raw");
        Path data = dir.resolve("data.bin");
        byte[] random = new byte[SIZE];
        new Random(1).nextBytes(random);
        Files.write(data, random);
        Files.write(image, new byte[SIZE]);
        processes.qemuNbd(image, dir.resolve("nbd.sock"));

        Counting writes = copyThroughObserver(data.toString(), "URI");
        assertThat(writes.requestBytes.get(NbdCommand.WRITE)).as("WRITE payload bytes").isEqualTo(SIZE);
        assertThat(writes.replies.get(NbdCommand.WRITE)).isEqualTo(writes.requests.get(NbdCommand.WRITE));
        assertThat(writes.errors).isZero();
        assertThat(writes.maxLatency).isPositive();

        Counting reads = copyThroughObserver("URI", "null:");
        assertThat(reads.replyBytes.get(NbdCommand.READ)).as("READ data bytes").isEqualTo(SIZE);
        assertThat(reads.replies.get(NbdCommand.READ)).isEqualTo(reads.requests.get(NbdCommand.READ));
        assertThat(reads.errors).isZero();
    }

    @Test
    void garbageStopsDecodingOnceAndNeverThrows() {
        Counting counts = new Counting();
        NbdStreamObserver observer = new NbdStreamObserver(counts);
        byte[] junk = new byte[4096];
        new Random(3).nextBytes(junk);
        ByteBuf buf = Unpooled.wrappedBuffer(junk);
        observer.serverToClient(buf);
        observer.clientToServer(buf);
        observer.serverToClient(buf);
        assertThat(observer.isBroken()).isTrue();
        assertThat(counts.undecodable).hasSize(1);
        assertThat(buf.readerIndex()).as("the observer never consumes").isZero();
        buf.release();
    }
}
