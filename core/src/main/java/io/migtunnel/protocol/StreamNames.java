package io.migtunnel.protocol;

import java.nio.charset.StandardCharsets;

/**
 * Stream names are labels (such as {@code migration} or {@code nbd/disk0}), never paths: 1 to 255
 * printable ASCII characters, no spaces, no leading or trailing {@code /}, no {@code ..}.
 */
public final class StreamNames {
    private StreamNames() {
    }

    /** Returns {@code null} when {@code name} is valid, otherwise why it is not. */
    public static String problem(String name) {
        if (name == null || name.isEmpty()) {
            return "stream name is empty";
        }
        if (name.getBytes(StandardCharsets.UTF_8).length > Limits.MAX_NAME_BYTES) {
            return "stream name longer than " + Limits.MAX_NAME_BYTES + " bytes";
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == ' ') {
                return "stream name has a space at index " + i;
            }
            if (c < 0x20 || c >= 0x7F) {
                return "stream name has a character outside printable ASCII at index " + i;
            }
        }
        if (name.startsWith("/") || name.endsWith("/") || name.contains("..")) {
            return "stream name '" + name + "' looks like a path";
        }
        return null;
    }

    /** Throws {@link IllegalArgumentException} naming the problem when {@code name} is invalid. */
    public static String requireValid(String name) {
        String problem = problem(name);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
        return name;
    }
}
