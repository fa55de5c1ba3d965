package io.migtunnel.qemu.relay;

import io.migtunnel.testing.relay.SocketRelay;
import io.migtunnel.transport.it.MigtunnelRelay;

/** {@link QemuMigrationTestBase} through one migtunnel connection. */
class MigtunnelQemuMigrationTest extends QemuMigrationTestBase {
    @Override
    protected SocketRelay newRelay() {
        return new MigtunnelRelay();
    }
}
