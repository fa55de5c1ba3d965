package io.migtunnel.cli;

import io.migtunnel.transport.LibvirtSockets;
import java.nio.file.Path;
import java.util.Set;

/** What a destination says at startup about a route that hands its libvirtd to the tunnel's sources. */
final class LibvirtRouteNotice {
    private LibvirtRouteNotice() {
    }

    /**
     * The notice for the route {@code name} to {@code target}, or null when neither names libvirt;
     * {@code tls} false means plaintext, {@code allowedSubjects} is --tls-allow-subject.
     */
    static String of(String name, Path target, boolean tls, Set<String> allowedSubjects) {
        if (!LibvirtSockets.isLibvirtName(name) && !LibvirtSockets.isLibvirtSocket(target)) {
            return null;
        }
        String route = "route '" + name + "' to " + target + " gives ";
        if (!tls) {
            return route + "anyone who can reach the tunnel's port full control of this host's libvirtd: "
                + "the tunnel is plaintext";
        }
        if (allowedSubjects.isEmpty()) {
            return route + "every source with a certificate from the tunnel's CA full control of this host's "
                + "libvirtd; --tls-allow-subject narrows it to named sources";
        }
        return route + "the sources " + allowedSubjects + " (--tls-allow-subject) full control of this host's libvirtd";
    }
}
