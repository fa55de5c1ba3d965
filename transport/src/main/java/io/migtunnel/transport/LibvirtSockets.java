package io.migtunnel.transport;

import io.migtunnel.transport.internal.SocketAccess;
import io.migtunnel.transport.internal.SocketFiles;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Recognises libvirt's RPC carried through a tunnel. Whoever can connect to a source's exposed
 * {@code libvirt} socket has full control of the destination's libvirtd (it can define, start
 * and migrate domains as root), so a source keeps such a socket owner-only unless its mode is
 * given for that name alone: {@link TunnelSource#socketMode(String, String)}.
 */
public final class LibvirtSockets {
    private static final String NAME_PREFIX = "libvirt";
    private static final Pattern MODULAR_DAEMON_SOCKET = Pattern.compile("virt[a-z]+d-(admin-)?sock(-ro)?");

    private LibvirtSockets() {
    }

    /** Whether a stream named {@code name} is taken to carry libvirt's RPC: {@code libvirt} or {@code libvirt…}. */
    public static boolean isLibvirtName(String name) {
        return name.startsWith(NAME_PREFIX);
    }

    /**
     * Whether {@code target} looks like a libvirt daemon's RPC socket: {@code libvirt-sock},
     * {@code libvirt-sock-ro}, {@code libvirt-admin-sock}, {@code libvirt*.sock}, or a modular
     * daemon's such as {@code virtqemud-sock} and {@code virtproxyd-sock}.
     */
    public static boolean isLibvirtSocket(Path target) {
        Path file = target.getFileName();
        if (file == null) {
            return false;
        }
        String f = file.toString();
        return f.startsWith(NAME_PREFIX) || MODULAR_DAEMON_SOCKET.matcher(f).matches();
    }

    /**
     * Fails when an exposed libvirt socket would get a mode that lets its group or others connect
     * without that mode having been given for its name.
     */
    static void requireOwnerOnlyUnlessNamed(Map<String, Path> exposes, SocketAccess access) {
        for (Map.Entry<String, Path> e : exposes.entrySet()) {
            String name = e.getKey();
            if (isLibvirtName(name) && !access.hasModeFor(name) && grantsOthers(access.mode())) {
                throw new LibvirtSocketModeException(name, e.getValue(), SocketFiles.octal(access.mode()));
            }
        }
    }

    private static boolean grantsOthers(Iterable<PosixFilePermission> mode) {
        for (PosixFilePermission p : mode) {
            if (!p.name().startsWith("OWNER_")) {
                return true;
            }
        }
        return false;
    }
}
