package io.migtunnel.transport.it;

/** {@link QemuMigrationTestBase} through one migtunnel connection. */
class MigtunnelQemuMigrationTest extends QemuMigrationTestBase {
    @Override
    protected SocketRelay newRelay() {
        return new MigtunnelRelay();
    }
}
