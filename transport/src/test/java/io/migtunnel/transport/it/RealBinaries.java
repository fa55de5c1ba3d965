package io.migtunnel.transport.it;

import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Skips real-QEMU/NBD tests when disabled with -Dmigtunnel.skipQemu=true or a binary is missing. */
final class RealBinaries {

    private RealBinaries() {}

    static void assume(String... programs) {
        assumeFalse(Boolean.getBoolean("migtunnel.skipQemu"), "migtunnel.skipQemu=true");
        for (String program : programs) {
            assumeTrue(Cmd.onPath(program), program + " not found on PATH");
        }
    }
}
