package io.migtunnel.transport.it;

/** {@link QemuMigrationTestBase} through the socat UNIX->TCP->UNIX baseline relay. */
class SocatQemuMigrationTest extends QemuMigrationTestBase {
    @Override
    protected SocketRelay newRelay() {
        return SocatRelay.assumingInstalled();
    }
}
