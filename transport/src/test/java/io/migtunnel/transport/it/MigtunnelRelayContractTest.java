package io.migtunnel.transport.it;

/** {@link RelayContractTestBase} through one migtunnel connection. */
class MigtunnelRelayContractTest extends RelayContractTestBase {
    @Override
    protected SocketRelay newRelay() {
        return new MigtunnelRelay();
    }
}
