package io.migtunnel.examples.libvirt;

import java.util.List;

/**
 * The VM the libvirt tests migrate, as far as they need to know it: how to start it on a host,
 * what a destination needs before it arrives, and how to tell it arrived intact. The one the suite
 * runs is the project's busy guest ({@link BusyLibvirtGuest}).
 */
interface Guest {
    /** The domain's name, the same on every host. */
    String name();

    /** What it is, in a few words, for the measurement table. */
    String description();

    /** The qcow2 images of its disks, at the same paths on every host. */
    List<String> diskPaths();

    /** The guest-visible size of disk {@code path}, in bytes. */
    long diskSize(String path);

    /** Puts its disks and files on {@code host}, defines it there (persistent), starts it and waits until it runs. */
    void startOn(LibvirtHost host) throws Exception;

    /** What {@code host} needs before it arrives: an empty image of each disk's size, and so on. */
    void prepareIncoming(LibvirtHost host) throws Exception;

    /**
     * Fails unless the guest runs on {@code host}, on from where it was, its memory intact; it
     * runs on afterwards.
     */
    void assertIntact(LibvirtHost host) throws Exception;

    /** Stops the guest on {@code host} (its QEMU ends, images closed) and fails unless every disk there is intact. */
    void stopAndAssertDisks(LibvirtHost host) throws Exception;
}
