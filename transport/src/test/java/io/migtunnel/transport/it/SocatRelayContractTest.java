package io.migtunnel.transport.it;

import io.migtunnel.testing.relay.SocatRelay;
import io.migtunnel.testing.relay.SocketRelay;

/** {@link RelayContractTestBase} for the socat UNIX->TCP->UNIX baseline relay. */
class SocatRelayContractTest extends RelayContractTestBase {
    @Override
    protected SocketRelay newRelay() {
        return SocatRelay.create();
    }
}
