package io.migtunnel.transport.it;

import io.migtunnel.testing.relay.SocketRelay;

/** {@link RelayContractTestBase} through one migtunnel connection. */
class MigtunnelRelayContractTest extends RelayContractTestBase {
    @Override
    protected SocketRelay newRelay() {
        return new MigtunnelRelay();
    }
}
