package io.migtunnel.examples.libvirt;

import java.nio.file.Path;
import java.util.List;

/**
 * The VM the libvirt tests migrate, as far as they need to know it: how to start it on a host,
 * what a destination needs before it arrives, and how to tell it arrived intact. The random-RAM
 * guest is the one for now; the project's busy guest (a multiboot kernel checked by
 * {@code GuestCheck}) is meant to be another implementation, its domain a {@link DomainXml} with
 * {@code kernel(...)}, machine {@code pc} and IDE disks.
 */
interface Guest {
    /** The domain's name, the same on every host. */
    String name();

    /** The qcow2 images of its disks, at the same paths on every host. */
    List<String> diskPaths();

    /** The guest-visible size of disk {@code path}, in bytes. */
    long diskSize(String path);

    /** Whether it ever writes its disks: if not, a migrated disk must equal the image it started with. */
    boolean writesDisks();

    /** The image disk {@code path} started with, outside any host. */
    Path initialImage(String path);

    /** Puts its disks and files on {@code host}, defines it there (persistent) and starts it. */
    void startOn(LibvirtHost host) throws Exception;

    /** What {@code host} needs before it arrives: an empty image of each disk's size, and so on. */
    void prepareIncoming(LibvirtHost host) throws Exception;

    /** Fails unless the guest running on {@code host} is the one {@link #startOn} started, its memory intact. */
    void assertIntact(LibvirtHost host) throws Exception;
}
