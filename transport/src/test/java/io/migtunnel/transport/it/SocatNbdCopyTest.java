package io.migtunnel.transport.it;

import io.migtunnel.testing.relay.SocatRelay;
import io.migtunnel.testing.relay.SocketRelay;

/** {@link NbdCopyTestBase} through the socat UNIX->TCP->UNIX baseline relay. */
class SocatNbdCopyTest extends NbdCopyTestBase {
    @Override
    protected SocketRelay newRelay() {
        return SocatRelay.create();
    }
}
