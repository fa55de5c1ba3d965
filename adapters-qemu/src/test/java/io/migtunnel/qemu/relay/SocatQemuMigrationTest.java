package io.migtunnel.qemu.relay;

import io.migtunnel.testing.relay.SocatRelay;
import io.migtunnel.testing.relay.SocketRelay;

/** {@link QemuMigrationTestBase} through the socat UNIX->TCP->UNIX baseline relay. */
class SocatQemuMigrationTest extends QemuMigrationTestBase {
    @Override
    protected SocketRelay newRelay() {
        return SocatRelay.create();
    }
}
