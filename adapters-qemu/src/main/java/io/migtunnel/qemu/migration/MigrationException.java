package io.migtunnel.qemu.migration;

/**
 * A migration failed at {@link #step()} because of {@link #cause()}'s text (QEMU's own error where
 * QEMU failed), and was rolled back: mirrors cancelled, migration cancelled, destination told to
 * abort, NBD nodes removed, the source VM running on its own disks. {@link #rollbackProblems()}
 * is empty when all of that succeeded.
 */
public final class MigrationException extends RuntimeException {
    private final MigrationStep step;
    private final String reason;
    private final String rollbackProblems;

    public MigrationException(MigrationStep step, String reason, String rollbackProblems) {
        super("migration failed at step '" + step.label() + "': " + reason
            + (rollbackProblems.isEmpty() ? "" : "; rollback: " + rollbackProblems));
        this.step = step;
        this.reason = reason;
        this.rollbackProblems = rollbackProblems;
    }

    /** The step that failed, e.g. {@link MigrationStep#PREPARE}. */
    public MigrationStep step() {
        return step;
    }

    /** Why it failed. */
    public String reason() {
        return reason;
    }

    /** What the rollback could not do; empty when it did everything. */
    public String rollbackProblems() {
        return rollbackProblems;
    }
}
