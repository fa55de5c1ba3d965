package io.migtunnel.transport.it;

/** {@link NbdCopyTestBase} through one migtunnel connection. */
class MigtunnelNbdCopyTest extends NbdCopyTestBase {
    @Override
    protected SocketRelay newRelay() {
        return new MigtunnelRelay();
    }
}
