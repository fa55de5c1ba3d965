package io.migtunnel.qemu.migration;

/**
 * Watches a running migration (progress display, metrics). Called from the migration's own
 * thread; must return quickly.
 */
public interface MigrationObserver {
    MigrationObserver NONE = new MigrationObserver() { };

    /** A step begins, e.g. {@link MigrationStep#MIRROR}. */
    default void onStep(MigrationStep step) {
    }

    /** A fresh reading of QEMU's block jobs and migration statistics (a few times a second). */
    default void onProgress(MigrationProgress progress) {
    }

    /** The migration succeeded. */
    default void onCompleted(MigrationSummary summary) {
    }

    /** The migration failed and was rolled back as far as {@code failure} says. */
    default void onFailed(MigrationException failure) {
    }

    /** All of {@code observers}, in order. */
    static MigrationObserver all(MigrationObserver... observers) {
        return new MigrationObserver() {
            @Override
            public void onStep(MigrationStep step) {
                for (MigrationObserver o : observers) {
                    o.onStep(step);
                }
            }

            @Override
            public void onProgress(MigrationProgress progress) {
                for (MigrationObserver o : observers) {
                    o.onProgress(progress);
                }
            }

            @Override
            public void onCompleted(MigrationSummary summary) {
                for (MigrationObserver o : observers) {
                    o.onCompleted(summary);
                }
            }

            @Override
            public void onFailed(MigrationException failure) {
                for (MigrationObserver o : observers) {
                    o.onFailed(failure);
                }
            }
        };
    }
}
