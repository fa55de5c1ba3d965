/**
 * Live migration with non-shared storage through one tunnel: {@link io.migtunnel.qemu.migration.SourceMigration}
 * drives the source QEMU (disk mirrors over NBD, RAM and device state, switch-over, rollback) and
 * {@link io.migtunnel.qemu.migration.IncomingMigrations} prepares destination QEMUs when a source
 * asks over the tunnel's control stream.
 */
package io.migtunnel.qemu.migration;
