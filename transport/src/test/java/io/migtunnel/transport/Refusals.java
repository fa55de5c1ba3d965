package io.migtunnel.transport;

import java.time.Duration;

/** How a refused source ends: its start fails, or (GOAWAY racing the socket binds) its tunnel closes at once. */
final class Refusals {
    private Refusals() {
    }

    /** The messages of the failure of {@code source}, which must be refused within {@code timeout}. */
    static String of(TunnelSource source, Duration timeout) {
        Tunnel started;
        try {
            started = source.start().block(timeout);
        } catch (RuntimeException e) {
            return describe(e);
        }
        try {
            started.onClose().block(timeout);
        } catch (RuntimeException e) {
            return describe(e);
        } finally {
            started.dispose();
        }
        throw new AssertionError("the source was not refused: its session closed cleanly");
    }

    /** The messages of {@code e} and its causes. */
    static String describe(Throwable e) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            sb.append(t).append(" / ");
        }
        return sb.toString();
    }
}
