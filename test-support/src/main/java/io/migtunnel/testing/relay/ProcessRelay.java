package io.migtunnel.testing.relay;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A relay made of external processes: the sockets it exposes, its processes' output as its
 * diagnostics, and on close every process stopped (forked children included) and its sockets removed.
 */
@SuppressWarnings("try") // close() may throw InterruptedException: it waits for processes
public abstract class ProcessRelay implements SocketRelay {
    /** The relay's processes; subclasses start them in {@link #start}. */
    protected final RelayProcesses processes = new RelayProcesses();
    private final Map<String, Path> exposed = new LinkedHashMap<>();

    /** A file name for stream {@code name} (which may hold a '/'), in the relay's directory. */
    protected static String fileName(String name) {
        return name.replace('/', '-');
    }

    /** Records that clients reach {@code name} at {@code socket}. */
    protected final void exposedAt(String name, Path socket) {
        exposed.put(name, socket);
    }

    @Override
    public final Path exposed(String name) {
        Path p = exposed.get(name);
        if (p == null) {
            throw new IllegalArgumentException("No exposed socket named " + name + "; have " + exposed.keySet());
        }
        return p;
    }

    /** The processes' own output, for failure messages. */
    @Override
    public final String diagnostics() {
        return processes.logs();
    }

    @Override
    public void close() throws Exception {
        processes.close();
        for (Path socket : exposed.values()) {
            Files.deleteIfExists(socket);
        }
    }
}
