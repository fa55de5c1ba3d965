package io.migtunnel.examples.libvirt;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

/**
 * What TCP did between two hosts over a stretch of a test: the connections across their link
 * ({@code /proc/PID/net/tcp} of the first host) at the start and at the end, and every TCP
 * connection opened meanwhile in either network namespace, loopback included
 * ({@link TcpCounters}), however short-lived: a count, not a sample.
 */
final class LinkWatch {
    private final LibvirtHost a;
    private final LibvirtHost b;
    private final TcpCounters aBefore;
    private final TcpCounters bBefore;
    private final List<TcpCounters.Connection> crossingBefore;

    private LinkWatch(LibvirtHost a, LibvirtHost b) throws Exception {
        this.a = a;
        this.b = b;
        this.crossingBefore = crossing();
        this.aBefore = a.tcpCounters();
        this.bBefore = b.tcpCounters();
    }

    /** Starts watching the link between {@code a} and {@code b}. */
    static LinkWatch start(LibvirtHost a, LibvirtHost b) throws Exception {
        return new LinkWatch(a, b);
    }

    /** The TCP connections between the two hosts now, as {@code a} sees them. */
    List<TcpCounters.Connection> crossing() throws Exception {
        return a.tcpConnections().stream()
            .filter(c -> c.local().equals(a.address()) && c.remote().equals(b.address())).toList();
    }

    /** TCP connections opened in either host since the start. */
    long opened() throws Exception {
        return a.tcpCounters().opensSince(aBefore) + b.tcpCounters().opensSince(bBefore);
    }

    /** Connections accepted by {@code b} since the start. */
    long acceptedByB() throws Exception {
        return b.tcpCounters().passiveOpens() - bBefore.passiveOpens();
    }

    /**
     * Fails unless the only TCP connection from {@code a} into {@code b}'s port {@code port}
     * (the tunnel's) was the same one from start to end, every connection across the link was a
     * tunnel's ({@code tunnelPorts}: one each way), and no TCP connection was opened in either host.
     */
    void assertOnlyTheTunnelCrossed(int port, List<Integer> tunnelPorts) throws Exception {
        List<TcpCounters.Connection> now = crossing();
        List<TcpCounters.Connection> intoPort = now.stream().filter(c -> c.remotePort() == port).toList();
        assertThat(intoPort).as("TCP connections from %s into the tunnel's port %s:%d", a, b, port).hasSize(1)
            .allMatch(c -> c.state().equals("ESTABLISHED"));
        assertThat(now).as("TCP connections between %s and %s at the end, against the start", a, b)
            .containsExactlyInAnyOrderElementsOf(crossingBefore)
            .allMatch(c -> tunnelPorts.contains(c.remotePort()) || tunnelPorts.contains(c.localPort()));
        assertThat(opened()).as("TCP connections opened in %s and %s meanwhile (%s: %s -> %s; %s: %s -> %s)", a, b, a,
            aBefore, a.tcpCounters(), b, bBefore, b.tcpCounters()).isZero();
    }
}
