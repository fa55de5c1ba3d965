package io.migtunnel.qemu.qmp;

import java.util.List;

/**
 * What QEMU announces when a QMP client connects: its version and the optional capabilities it
 * offers (this client enables none of them).
 *
 * @param major QEMU major version, e.g. 7 for 7.2.22
 * @param minor QEMU minor version
 * @param micro QEMU micro version
 * @param packageName distribution package string, e.g. {@code "Debian 1:7.2+dfsg-7+deb12u18"}; may be empty
 * @param capabilities capabilities offered in the greeting, e.g. {@code ["oob"]}
 */
public record QmpGreeting(int major, int minor, int micro, String packageName, List<String> capabilities) {

    public QmpGreeting {
        capabilities = List.copyOf(capabilities);
    }

    /** The version as {@code major.minor.micro}. */
    public String version() {
        return major + "." + minor + "." + micro;
    }
}
