package io.migtunnel.transport.it;

/** {@link NbdCopyTestBase} through the socat UNIX->TCP->UNIX baseline relay. */
class SocatNbdCopyTest extends NbdCopyTestBase {
    @Override
    protected SocketRelay newRelay() {
        return SocatRelay.assumingInstalled();
    }
}
