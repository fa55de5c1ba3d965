/**
 * Integration tests that drive real programs (qemu-nbd, nbdcopy, socat) through a
 * {@link io.migtunnel.testing.relay.SocketRelay}.
 *
 * <p>Each scenario is an abstract {@code *TestBase} with {@code protected abstract SocketRelay
 * newRelay()}; a relay gets covered by one three-line subclass per base: {@link MigtunnelRelay}
 * (the product) and {@code SocatRelay} (the baseline: UNIX -> TCP 127.0.0.1 -> UNIX, two forking
 * socat processes per name). The QEMU migration scenario is in adapters-qemu's
 * {@code io.migtunnel.qemu.relay}, which uses {@link MigtunnelRelay} from this module's test-jar.
 *
 * <p>Tests of real programs are tagged {@code qemu}: a missing program fails them, naming its
 * Debian package; {@code -Dmigtunnel.skipQemu=true} skips them (see
 * {@link io.migtunnel.testing.RealBinaries}). Relays must preserve per-name connection order (see
 * {@link io.migtunnel.testing.relay.SocketRelay#preservesConnectionOrder()}): QEMU 7.2 multifd
 * depends on it.
 */
package io.migtunnel.transport.it;
