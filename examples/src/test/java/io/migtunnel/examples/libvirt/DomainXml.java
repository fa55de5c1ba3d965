package io.migtunnel.examples.libvirt;

import java.util.ArrayList;
import java.util.List;

/**
 * The libvirt domain of the migration tests: a TCG ({@code type='qemu'}) x86 guest with one vCPU
 * and no devices but its disks and, if asked, a serial port to a file (no network, display, USB
 * or balloon). Everything a guest needs is a setting here (the busy guest: machine {@code pc},
 * IDE disks, {@code -kernel}/{@code -append}, serial to a file).
 */
final class DomainXml {
    /** A qcow2 disk at {@code path} (the same path on every host), as guest device {@code target} on {@code bus}. */
    record Disk(String path, String target, String bus) {
    }

    private final String name;
    private int memoryMiB = 128;
    private String machine = "pc";
    private final List<Disk> disks = new ArrayList<>();
    private String kernel;
    private String append;
    private String serialFile;
    private final List<String> qemuArgs = new ArrayList<>();

    private DomainXml(String name) {
        this.name = name;
    }

    static DomainXml named(String name) {
        return new DomainXml(name);
    }

    String name() {
        return name;
    }

    List<Disk> disks() {
        return List.copyOf(disks);
    }

    DomainXml memoryMiB(int mib) {
        this.memoryMiB = mib;
        return this;
    }

    /** QEMU's machine type, e.g. {@code pc} or {@code q35}. */
    DomainXml machine(String type) {
        this.machine = type;
        return this;
    }

    DomainXml disk(String path, String target, String bus) {
        disks.add(new Disk(path, target, bus));
        return this;
    }

    /** Boots {@code kernelPath} (on every host) directly, with command line {@code cmdline}: {@code -kernel}, {@code -append}. */
    DomainXml kernel(String kernelPath, String cmdline) {
        this.kernel = kernelPath;
        this.append = cmdline;
        return this;
    }

    /** Writes the guest's first serial port (COM1) to {@code path} on the host it runs on. */
    DomainXml serialFile(String path) {
        this.serialFile = path;
        return this;
    }

    /** Arguments added to QEMU's command line ({@code <qemu:commandline>}; libvirt marks the domain tainted). */
    DomainXml qemuArgs(String... args) {
        qemuArgs.addAll(List.of(args));
        return this;
    }

    String render() {
        StringBuilder x = new StringBuilder();
        x.append("<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n");
        x.append("  <name>").append(escape(name)).append("</name>\n");
        x.append("  <memory unit='MiB'>").append(memoryMiB).append("</memory>\n");
        x.append("  <vcpu>1</vcpu>\n");
        x.append("  <os>\n    <type arch='x86_64' machine='").append(escape(machine)).append("'>hvm</type>\n");
        if (kernel != null) {
            x.append("    <kernel>").append(escape(kernel)).append("</kernel>\n");
            x.append("    <cmdline>").append(escape(append)).append("</cmdline>\n");
        } else {
            x.append("    <boot dev='hd'/>\n");
        }
        x.append("  </os>\n");
        x.append("  <features>\n    <acpi/>\n  </features>\n");
        x.append("  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n  <on_crash>destroy</on_crash>\n");
        x.append("  <devices>\n");
        for (Disk d : disks) {
            x.append("    <disk type='file' device='disk'>\n      <driver name='qemu' type='qcow2'/>\n");
            x.append("      <source file='").append(escape(d.path())).append("'/>\n");
            x.append("      <target dev='").append(escape(d.target())).append("' bus='").append(escape(d.bus()))
                .append("'/>\n    </disk>\n");
        }
        if (serialFile != null) {
            x.append("    <serial type='file'>\n      <source path='").append(escape(serialFile))
                .append("'/>\n      <target port='0'/>\n    </serial>\n");
        }
        x.append("    <controller type='usb' model='none'/>\n    <memballoon model='none'/>\n");
        x.append("  </devices>\n");
        if (!qemuArgs.isEmpty()) {
            x.append("  <qemu:commandline>\n");
            for (String a : qemuArgs) {
                x.append("    <qemu:arg value='").append(escape(a)).append("'/>\n");
            }
            x.append("  </qemu:commandline>\n");
        }
        x.append("</domain>\n");
        return x.toString();
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&apos;")
            .replace("\"", "&quot;");
    }
}
