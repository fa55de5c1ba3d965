package io.migtunnel.transport.internal;

import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/** Who may connect to the sockets an endpoint creates: their mode and, if not null, their group. */
public record SocketAccess(Set<PosixFilePermission> mode, String group) {
    /** Mode 0600, the owner's group: only this user (and root) may connect. */
    public static final SocketAccess OWNER_ONLY =
        new SocketAccess(EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE), null);

    public SocketAccess {
        mode = Set.copyOf(Objects.requireNonNull(mode, "mode"));
        if (group != null && group.isBlank()) {
            throw new IllegalArgumentException("socket group must not be blank");
        }
    }

    public SocketAccess withMode(Set<PosixFilePermission> value) {
        return new SocketAccess(value, group);
    }

    public SocketAccess withGroup(String value) {
        return new SocketAccess(mode, Objects.requireNonNull(value, "group"));
    }
}
