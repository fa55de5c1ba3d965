package io.migtunnel.examples.libvirt;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What {@code virsh domjobinfo} printed, parsed: "Key: value unit" lines. During a
 * {@code --copy-storage-all} migration libvirt first mirrors the disks ("File processed/remaining")
 * and then migrates RAM ("Memory ..." appear); {@code --completed} adds "Total downtime".
 */
record JobInfo(Map<String, String> fields, String text) {
    private static final Pattern LINE = Pattern.compile("^([^:]+):\\s+(.*?)\\s*$");
    private static final Pattern SIZE = Pattern.compile("([0-9.]+)\\s*(B|KiB|MiB|GiB|TiB)");
    private static final Pattern MILLIS = Pattern.compile("([0-9]+)\\s*ms");

    static JobInfo parse(String text) {
        Map<String, String> fields = new LinkedHashMap<>();
        for (String line : text.lines().toList()) {
            Matcher m = LINE.matcher(line);
            if (m.matches()) {
                fields.put(m.group(1).strip(), m.group(2));
            }
        }
        return new JobInfo(fields, text);
    }

    /** "Job type": None, Unbounded (running), Completed, Failed, Cancelled. */
    String type() {
        return fields.getOrDefault("Job type", "");
    }

    /** Whether the disks are being copied: some bytes of them sent, some left. */
    boolean copyingDisks() {
        return bytes("File processed") > 0 && bytes("File remaining") > 0;
    }

    /** Whether RAM is being migrated: the disks mirrored, QEMU's migration started. */
    boolean migratingRam() {
        return fields.containsKey("Memory total") && type().equals("Unbounded");
    }

    long timeElapsedMillis() {
        return millis("Time elapsed");
    }

    long downtimeMillis() {
        return millis("Total downtime");
    }

    /** A size field in bytes; -1 when absent. */
    long bytes(String key) {
        String v = fields.get(key);
        if (v == null) {
            return -1;
        }
        Matcher m = SIZE.matcher(v);
        if (!m.find()) {
            throw new IllegalArgumentException(key + ": " + v);
        }
        int shift = switch (m.group(2).toUpperCase(Locale.ROOT)) {
            case "B" -> 0;
            case "KIB" -> 10;
            case "MIB" -> 20;
            case "GIB" -> 30;
            default -> 40;
        };
        return (long) (Double.parseDouble(m.group(1)) * (1L << shift));
    }

    /** A time field in milliseconds; -1 when absent. */
    long millis(String key) {
        String v = fields.get(key);
        if (v == null) {
            return -1;
        }
        Matcher m = MILLIS.matcher(v);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    @Override
    public String toString() {
        return fields.toString();
    }
}
