package io.migtunnel.qemu.migration;

/**
 * The steps of a source migration, in the order {@link SourceMigration} runs them. A completed
 * migration ends at {@link #DONE}; a failed one runs {@link #ROLL_BACK} after the step that failed
 * ({@link MigrationException#step()}).
 *
 * <p>{@link #label()} is the step's name for people and tools: the progress lines of
 * {@code migtunnel migrate}, its error messages and the {@code step} tag of the migration metrics
 * (docs/METRICS.md). Labels never change once released: dashboards and scripts match them.
 */
public enum MigrationStep {
    CONNECT_QMP("connect to the source QMP socket"),
    INSPECT("inspect the source VM"),
    CONNECT_TUNNEL("connect the tunnel"),
    PREPARE("prepare the destination"),
    START_MIRRORS("start the disk mirrors"),
    MIRROR("mirror the disks"),
    START_MIGRATION("start the migration"),
    MIGRATE_RAM("migrate RAM and device state"),
    COMPLETE_MIRRORS("complete the disk mirrors (VM paused)"),
    SWITCH_OVER("switch over"),
    REMOVE_NBD_NODES("remove the NBD nodes"),
    FINISH("finish on the destination"),
    DONE("done"),
    ROLL_BACK("roll back");

    private final String label;

    MigrationStep(String label) {
        this.label = label;
    }

    /** The step's name, such as {@code mirror the disks}: the metric tag value and what the CLI prints. */
    public String label() {
        return label;
    }

    /** The {@link #label()}. */
    @Override
    public String toString() {
        return label;
    }
}
