package io.migtunnel.qemu.migration.internal;

import io.migtunnel.protocol.StreamNames;

/** Stream names of the migration (docs/PROTOCOL.md, "Control stream"); its messages are {@link ControlMessage}s. */
public final class ControlNames {
    /** The stream a source opens first to prepare, finish or abort the destination. */
    public static final String CONTROL = "control";
    /** The QEMU migration stream (several connections with multifd). */
    public static final String MIGRATION = "migration";
    /**
     * QEMU's postcopy-preempt channel: its second connection to the migration socket, at the most
     * urgent priority; the destination connects it to the same socket, after {@link #MIGRATION}.
     */
    public static final String PREEMPT = "migration/preempt";

    private ControlNames() {
    }

    /** The NBD stream of disk {@code id} ({@code index} keeps it a valid stream name). */
    public static String nbd(String id, int index) {
        String name = "nbd/" + id;
        return StreamNames.problem(name) == null ? name : "nbd/disk-" + index;
    }
}
