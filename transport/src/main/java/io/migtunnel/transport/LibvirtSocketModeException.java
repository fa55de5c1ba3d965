package io.migtunnel.transport;

import java.nio.file.Path;

/**
 * A source refused to start: the mode given for all exposed sockets would let others than the
 * owner connect to a libvirt socket (see {@link LibvirtSockets}), and no mode was given for it by name.
 */
public final class LibvirtSocketModeException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    private final String name;
    private final Path socket;
    private final String mode;

    LibvirtSocketModeException(String name, Path socket, String mode) {
        super("refusing mode " + mode + " for the exposed socket '" + name + "' at " + socket
            + ": whoever can connect to it controls the destination's libvirtd; keep it owner-only, or give it "
            + "a mode by name: socketMode(\"" + name + "\", \"" + mode + "\")");
        this.name = name;
        this.socket = socket;
        this.mode = mode;
    }

    /** The exposed name, such as {@code libvirt}. */
    public String name() {
        return name;
    }

    /** The socket's path. */
    public Path socket() {
        return socket;
    }

    /** The refused mode in octal, such as {@code 0660}. */
    public String mode() {
        return mode;
    }
}
