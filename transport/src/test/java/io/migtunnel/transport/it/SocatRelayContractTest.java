package io.migtunnel.transport.it;

/** {@link RelayContractTestBase} for the socat UNIX->TCP->UNIX baseline relay. */
class SocatRelayContractTest extends RelayContractTestBase {
    @Override
    protected SocketRelay newRelay() {
        return SocatRelay.assumingInstalled();
    }
}
