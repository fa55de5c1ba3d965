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

    /**
     * The disks to migrate: those named in {@code wanted} (by id or node name), or every writable
     * one when it is empty. Throws {@link StepFailure} for a name that is missing or read-only.
     */
    static List<Disk> select(List<Disk> all, List<String> wanted) {
        List<Disk> chosen = new ArrayList<>();
        if (wanted.isEmpty()) {
            for (Disk d : all) {
                if (!d.readOnly()) {
                    chosen.add(d);
                }
            }
            return chosen;
        }
        for (String want : wanted) {
            Disk match = all.stream()
                .filter(d -> d.id().equals(want) || d.node().equals(want))
                .findFirst()
                .orElseThrow(() -> new StepFailure("the source VM has no disk '" + want + "' (it has: "
                    + String.join(", ", ids(all)) + ")"));
            if (match.readOnly()) {
                throw new StepFailure("disk '" + want + "' is read-only on the source");
            }
            chosen.add(match);
        }
        return chosen;
    }

    static List<String> ids(List<Disk> disks) {
        return disks.stream().map(Disk::id).toList();
    }
}
