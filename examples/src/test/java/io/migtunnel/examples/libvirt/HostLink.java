package io.migtunnel.examples.libvirt;

import io.migtunnel.testing.Cmd;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The network between two hosts: a veth pair from one host's network namespace into the other's,
 * {@link #A_ADDRESS} and {@link #B_ADDRESS} on a /30. Nothing of it is in the machine's namespace
 * (names and addresses cannot clash with anyone else's), and it disappears with the namespaces.
 */
final class HostLink {
    static final String A_ADDRESS = "10.213.0.1";
    static final String B_ADDRESS = "10.213.0.2";
    private static final String DEVICE = "mt-peer";
    private static final Duration IP = Duration.ofSeconds(15);

    private HostLink() {
    }

    /** Joins {@code a} and {@code b}, and tells each host its address. */
    static void join(LibvirtHost a, LibvirtHost b) throws Exception {
        ip(a, "link", "add", DEVICE, "type", "veth", "peer", "name", DEVICE, "netns", Long.toString(b.pid()));
        for (LibvirtHost h : List.of(a, b)) {
            String address = h == a ? A_ADDRESS : B_ADDRESS;
            ip(h, "addr", "add", address + "/30", "dev", DEVICE);
            ip(h, "link", "set", DEVICE, "up");
            h.address(address);
        }
    }

    private static void ip(LibvirtHost host, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("ip"));
        command.addAll(List.of(args));
        Cmd.Result r = host.run(IP, command);
        if (r.exitCode() != 0) {
            throw new AssertionError("on " + host + ": " + r.describe());
        }
    }
}
