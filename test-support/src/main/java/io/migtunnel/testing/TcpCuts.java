package io.migtunnel.testing;

import java.time.Duration;
import java.util.List;

/**
 * Cuts real TCP connections from outside the JVM, as a firewall, a load balancer or a router
 * restart does: {@code ss -K} (root, {@code CONFIG_INET_DIAG_DESTROY}) destroys the socket and
 * the kernel sends a reset to its peer. Only established connections: a listener stays up.
 */
public final class TcpCuts {
    private TcpCuts() {
    }

    /**
     * Resets every established TCP connection from or to local port {@code port}; returns how many
     * sockets {@code ss} destroyed. With both ends on this machine that is usually 1: the reset the
     * first one sends closes the other before {@code ss} reaches it.
     */
    public static int reset(int port) {
        RealBinaries.require("ss");
        List<String> command = List.of("ss", "-K", "-H", "-t", "state", "established",
            "(", "sport", "=", ":" + port, "or", "dport", "=", ":" + port, ")");
        try {
            Cmd.Result r = Cmd.run(Duration.ofSeconds(30), command);
            if (r.exitCode() != 0) {
                throw new AssertionError("cutting connections of port " + port + " failed: " + r.describe());
            }
            return (int) r.stdout().lines().filter(l -> !l.isBlank()).count();
        } catch (java.io.IOException e) {
            throw new AssertionError(String.join(" ", command), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(String.join(" ", command), e);
        }
    }
}
