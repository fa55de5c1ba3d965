/**
 * Throwaway QEMU VMs and disk images for the demo and the tests: a TCG {@code qemu-system-x86_64}
 * with qcow2 virtio-blk disks and a QMP socket, and {@code qemu-img} helpers; the {@link
 * io.migtunnel.qemu.vm.BusyGuest} that dirties RAM and writes disks while it is migrated, and
 * {@link io.migtunnel.qemu.vm.GuestCheck}, which proves nothing it wrote was lost.
 */
package io.migtunnel.qemu.vm;
