/** QEMU adapters; the QMP client lives in {@link io.migtunnel.qemu.qmp}. */
package io.migtunnel.qemu;
