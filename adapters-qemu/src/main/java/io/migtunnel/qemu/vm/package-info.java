/**
 * Throwaway QEMU VMs and disk images for the demo and the tests: a TCG {@code qemu-system-x86_64}
 * with qcow2 virtio-blk disks and a QMP socket, and {@code qemu-img} helpers.
 */
package io.migtunnel.qemu.vm;
