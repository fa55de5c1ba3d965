package io.migtunnel.qemu.migration.internal;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/** The disks of a VM as {@code query-block} reports them. */
final class BlockDevices {
    private BlockDevices() {
    }

    /**
     * A disk with a medium.
     *
     * @param id the drive id ({@code -drive id=}) or, for {@code -blockdev}, the root node name: the
     *     name both sides agree on and the NBD export name
     * @param node the root node's name (what mirrors and exports attach to)
     * @param device the BlockBackend name, empty for {@code -blockdev}
     * @param size virtual size in bytes
     * @param readOnly whether the medium is read-only
     */
    record Disk(String id, String node, String device, long size, boolean readOnly) {
    }

    static List<Disk> list(JsonNode queryBlock) {
        List<Disk> disks = new ArrayList<>();
        for (JsonNode b : queryBlock) {
            JsonNode inserted = b.path("inserted");
            if (inserted.isMissingNode()) {
                continue;
            }
            String device = b.path("device").asText("");
            String node = inserted.path("node-name").asText("");
            String id = device.isEmpty() ? node : device;
            if (id.isEmpty()) {
                continue;
            }
            disks.add(new Disk(id, node, device, inserted.path("image").path("virtual-size").asLong(-1),
                inserted.path("ro").asBoolean(false)));
        }
        return disks;
    }

    static List<String> ids(List<Disk> disks) {
        return disks.stream().map(Disk::id).toList();
    }
}
