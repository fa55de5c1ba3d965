package io.migtunnel.qemu.migration;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Where a destination finds the QMP socket of the VM a source names. A VM name from the peer
 * never becomes a path beyond one validated file name inside a configured directory.
 */
@FunctionalInterface
public interface QmpLocator {
    /** VM names a {@link #directory} accepts: a letter or digit, then up to 63 of {@code [A-Za-z0-9_.-]}. */
    Pattern VM_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");

    /** The QMP socket of {@code vm}; throws {@link IllegalArgumentException} saying why there is none. */
    Path locate(String vm);

    /** One VM: every name maps to {@code socket}. */
    static QmpLocator single(Path socket) {
        return vm -> socket;
    }

    /** A host daemon: {@code dir/NAME.qmp} per VM. */
    static QmpLocator directory(Path dir) {
        return vm -> {
            if (vm == null || !VM_NAME.matcher(vm).matches()) {
                throw new IllegalArgumentException("invalid VM name '" + vm + "' (allowed: " + VM_NAME.pattern() + ")");
            }
            Path socket = dir.resolve(vm + ".qmp");
            if (!Files.exists(socket)) {
                throw new IllegalArgumentException("no VM '" + vm + "' on the destination: " + socket + " does not exist");
            }
            return socket;
        };
    }
}
