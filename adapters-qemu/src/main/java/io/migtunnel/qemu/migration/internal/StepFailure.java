package io.migtunnel.qemu.migration.internal;

/** A migration step failed for the reason in the message (already phrased for the user). */
final class StepFailure extends RuntimeException {
    StepFailure(String message) {
        super(message);
    }

    StepFailure(String message, Throwable cause) {
        super(message, cause);
    }
}
