package io.migtunnel.examples.libvirt;

import java.util.List;
import java.util.function.BiFunction;

/**
 * How {@code virsh migrate --p2p} reaches the destination: the destination libvirtd's URI (the
 * source libvirtd's RPC connection) and the options that say where QEMU's migration stream and
 * the disks' NBD connections go.
 */
interface Route {
    /** For the measurement table. */
    String label();

    /** The destination URI and the transport options of {@code virsh migrate}. */
    List<String> arguments(LibvirtHost from, LibvirtHost to);

    /**
     * libvirt's own migration: QEMU's TCP migration and NBD connections across the link, libvirt's
     * RPC over the destination's UNIX socket.
     */
    static Route direct() {
        return route("libvirt direct (TCP)", (from, to) -> List.of(to.uri(), "--listen-address", to.address(),
            "--migrateuri", "tcp://" + to.address()));
    }

    /**
     * Everything through {@code tunnel} (issue 14): libvirt's RPC to the socket the source exposes,
     * migration and disks as README "Under libvirt" says.
     */
    static Route through(Tunnel tunnel) {
        return route("migtunnel, RPC inside", (from, to) -> tunnel.arguments(from, to, tunnel.libvirtUri()));
    }

    /** Migration and disks through {@code tunnel}, libvirt's RPC outside it (the destination's UNIX socket). */
    static Route throughRpcOutside(Tunnel tunnel) {
        return route("migtunnel, RPC outside", (from, to) -> tunnel.arguments(from, to, to.uri()));
    }

    private static Route route(String label, BiFunction<LibvirtHost, LibvirtHost, List<String>> args) {
        return new Route() {
            @Override
            public String label() {
                return label;
            }

            @Override
            public List<String> arguments(LibvirtHost from, LibvirtHost to) {
                return args.apply(from, to);
            }
        };
    }
}
