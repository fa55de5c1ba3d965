package io.migtunnel.examples.libvirt;

import java.util.ArrayList;
import java.util.List;

/**
 * How {@code virsh migrate --p2p} reaches the destination: the destination libvirtd's URI and the
 * options that say where QEMU's migration stream and the disks' NBD connections go. libvirt's RPC
 * between the daemons always uses the destination's own UNIX socket here; issue 14 adds a route
 * that carries it through the tunnel too.
 */
interface Route {
    /** For the measurement table. */
    String label();

    /** The destination URI and the transport options of {@code virsh migrate}. */
    List<String> arguments(LibvirtHost from, LibvirtHost to);

    /** libvirt's own migration: QEMU's TCP migration and NBD connections, straight over loopback. */
    static Route direct() {
        return new Route() {
            @Override
            public String label() {
                return "libvirt direct (TCP)";
            }

            @Override
            public List<String> arguments(LibvirtHost from, LibvirtHost to) {
                return List.of(to.uri(), "--listen-address", "127.0.0.1", "--migrateuri", "tcp://127.0.0.1");
            }
        };
    }

    /** Migration and disks through the forwarders of {@code tunnel}, as README "Under libvirt" says. */
    static Route through(Tunnel tunnel) {
        return new Route() {
            @Override
            public String label() {
                return "through migtunnel (mTLS)";
            }

            @Override
            public List<String> arguments(LibvirtHost from, LibvirtHost to) {
                if (from != tunnel.from() || to != tunnel.to()) {
                    throw new IllegalArgumentException("tunnel " + tunnel + " does not go from " + from + " to " + to);
                }
                List<String> args = new ArrayList<>(List.of(to.uri()));
                args.addAll(List.of("--migrateuri", tunnel.migrateUri(), "--disks-uri", tunnel.disksUri()));
                return args;
            }
        };
    }
}
