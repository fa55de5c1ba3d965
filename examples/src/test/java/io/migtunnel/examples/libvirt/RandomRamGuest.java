package io.migtunnel.examples.libvirt;

import static org.assertj.core.api.Assertions.assertThat;

import io.migtunnel.qemu.vm.DiskImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A guest without an operating system whose RAM can be checked: SeaBIOS finds no bootable disk
 * (the images' first 4 KiB are zero) and halts, and 32 MiB of random data are loaded into its RAM
 * at 32 MiB ({@code -device loader}). It has two 64 MiB qcow2 disks of random data and never
 * writes them.
 *
 * <p>The loader runs on the destination too, when libvirt starts the incoming QEMU. So every
 * destination gets a decoy at the loader's path, random data of another seed: the blob is in the
 * destination's RAM only if the migration put it there.
 */
final class RandomRamGuest implements Guest {
    static final String NAME = "mt-guest";
    private static final long MIB = 1 << 20;
    private static final long DISK_SIZE = 64 * MIB;
    private static final long RAM_ADDRESS = 32 * MIB;
    private static final long RAM_SIZE = 32 * MIB;
    private static final String IMAGES = "/var/lib/libvirt/images/";
    private static final String BLOB = IMAGES + NAME + "-ram.bin";

    private final Path dir;
    private final DomainXml domain;
    private final Map<String, Path> initial = new LinkedHashMap<>();
    private final Path blob;
    private final Path decoy;
    private final String blobSha256;
    private int dumps;

    private RandomRamGuest(Path dir) throws Exception {
        this.dir = Files.createDirectories(dir);
        domain = DomainXml.named(NAME).memoryMiB(128).machine("pc").ramBlob(BLOB, RAM_ADDRESS);
        String[] targets = {"vda", "vdb"};
        for (int i = 0; i < targets.length; i++) {
            String path = IMAGES + NAME + "-" + i + ".qcow2";
            domain.disk(path, targets[i], "virtio");
            initial.put(path, DiskImages.randomQcow2(dir.resolve("disk" + i + ".qcow2"), DISK_SIZE, 1300 + i));
        }
        blob = DiskImages.randomFile(dir.resolve("ram.bin"), RAM_SIZE, 1313);
        decoy = DiskImages.randomFile(dir.resolve("decoy.bin"), RAM_SIZE, 1314);
        blobSha256 = DiskImages.sha256(blob);
        assertThat(DiskImages.sha256(decoy)).as("the decoy differs from the blob").isNotEqualTo(blobSha256);
        Files.writeString(dir.resolve(NAME + ".xml"), domain.render());
    }

    /** Makes its images and RAM blob in {@code dir}. */
    static RandomRamGuest create(Path dir) throws Exception {
        return new RandomRamGuest(dir);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<String> diskPaths() {
        return List.copyOf(initial.keySet());
    }

    @Override
    public long diskSize(String path) {
        return DISK_SIZE;
    }

    @Override
    public boolean writesDisks() {
        return false;
    }

    @Override
    public Path initialImage(String path) {
        return initial.get(path);
    }

    @Override
    public void startOn(LibvirtHost host) throws Exception {
        for (Map.Entry<String, Path> disk : initial.entrySet()) {
            Files.copy(disk.getValue(), host.path(disk.getKey()), StandardCopyOption.REPLACE_EXISTING);
        }
        Files.copy(blob, host.path(BLOB), StandardCopyOption.REPLACE_EXISTING);
        // the XML file is outside the overlays: the host sees it at the same path
        host.virshOk("define", dir.resolve(NAME + ".xml").toAbsolutePath().toString());
        host.virshOk("start", NAME);
    }

    @Override
    public void prepareIncoming(LibvirtHost host) throws Exception {
        for (String path : initial.keySet()) {
            DiskImages.emptyQcow2(host.path(path), DISK_SIZE);
        }
        Files.copy(decoy, host.path(BLOB), StandardCopyOption.REPLACE_EXISTING);
    }

    @Override
    public void assertIntact(LibvirtHost host) throws Exception {
        String out = IMAGES + NAME + "-ram-" + (++dumps) + ".out";
        host.virshOk("qemu-monitor-command", NAME, "{\"execute\":\"pmemsave\",\"arguments\":{\"val\":" + RAM_ADDRESS
            + ",\"size\":" + RAM_SIZE + ",\"filename\":\"" + out + "\"}}");
        try {
            assertThat(DiskImages.sha256(host.path(out)))
                .as("SHA-256 of guest RAM [%#x, +%d MiB) on %s: the blob loaded on the source (not the decoy)",
                    RAM_ADDRESS, RAM_SIZE / MIB, host)
                .isEqualTo(blobSha256);
        } finally {
            Files.deleteIfExists(host.path(out));
        }
    }
}
