/**
 * Integration tests that drive real programs (qemu-system-x86_64, qemu-img, qemu-nbd, nbdcopy)
 * through a {@link io.migtunnel.transport.it.SocketRelay}.
 *
 * <p>Each scenario is an abstract {@code *TestBase} with {@code protected abstract SocketRelay
 * newRelay()}; a relay gets covered by one three-line subclass per base:
 * {@code SocatRelayContractTest}, {@code SocatNbdCopyTest} and {@code SocatQemuMigrationTest} are
 * the socat baseline (UNIX -> TCP 127.0.0.1 -> UNIX, two forking socat processes per name).
 *
 * <p>QEMU/NBD tests are tagged {@code qemu} and skipped with {@code -Dmigtunnel.skipQemu=true} or
 * when a binary is missing. Relays must preserve per-name connection order (see
 * {@link io.migtunnel.transport.it.SocketRelay#preservesConnectionOrder()}): QEMU 7.2 multifd
 * depends on it.
 */
package io.migtunnel.transport.it;
