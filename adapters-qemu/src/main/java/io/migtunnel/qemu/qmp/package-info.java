/**
 * A reactive client for QMP, QEMU's JSON control protocol over a UNIX socket.
 *
 * <p>{@link io.migtunnel.qemu.qmp.QmpClient} is the entry point; see {@code docs/QMP.md}.
 * Everything under {@code internal} is an implementation detail.
 */
package io.migtunnel.qemu.qmp;
