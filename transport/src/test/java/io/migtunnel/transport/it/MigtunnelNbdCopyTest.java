package io.migtunnel.transport.it;

import io.migtunnel.testing.relay.SocketRelay;

/** {@link NbdCopyTestBase} through one migtunnel connection. */
class MigtunnelNbdCopyTest extends NbdCopyTestBase {
    @Override
    protected SocketRelay newRelay() {
        return new MigtunnelRelay();
    }
}
