package io.migtunnel.transport.internal;

import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Who may connect to the sockets an endpoint creates: their mode, the modes given for single
 * stream names (which win over {@code mode}) and, if not null, their group.
 */
public record SocketAccess(Set<PosixFilePermission> mode, Map<String, Set<PosixFilePermission>> modesByName,
                           String group) {
    /** Mode 0600, the owner's group: only this user (and root) may connect. */
    public static final SocketAccess OWNER_ONLY =
        new SocketAccess(EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE), Map.of(), null);

    public SocketAccess {
        mode = Set.copyOf(Objects.requireNonNull(mode, "mode"));
        modesByName = Map.copyOf(modesByName);
        if (group != null && group.isBlank()) {
            throw new IllegalArgumentException("socket group must not be blank");
        }
    }

    public SocketAccess withMode(Set<PosixFilePermission> value) {
        return new SocketAccess(value, modesByName, group);
    }

    /** This access with {@code value} as the mode of the socket exposed as {@code name}. */
    public SocketAccess withModeFor(String name, Set<PosixFilePermission> value) {
        Map<String, Set<PosixFilePermission>> copy = new HashMap<>(modesByName);
        copy.put(Objects.requireNonNull(name, "name"), Set.copyOf(Objects.requireNonNull(value, "mode")));
        return new SocketAccess(mode, copy, group);
    }

    public SocketAccess withGroup(String value) {
        return new SocketAccess(mode, modesByName, Objects.requireNonNull(value, "group"));
    }

    /** The mode of the socket exposed as {@code name}: its own if given, else {@link #mode}. */
    public Set<PosixFilePermission> modeOf(String name) {
        return modesByName.getOrDefault(name, mode);
    }

    /** Whether {@code name} has a mode of its own. */
    public boolean hasModeFor(String name) {
        return modesByName.containsKey(name);
    }
}
