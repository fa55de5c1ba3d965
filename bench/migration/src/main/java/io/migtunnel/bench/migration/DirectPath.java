package io.migtunnel.bench.migration;

import io.migtunnel.testing.relay.SocketRelay;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** No relay at all: clients connect to the targets themselves (QEMU to QEMU over UNIX sockets). */
final class DirectPath implements SocketRelay {
    private final Map<String, Path> targets = new LinkedHashMap<>();

    @Override
    public void start(Map<String, Path> targetsByName, Path exposeDir) {
        targets.putAll(targetsByName);
    }

    @Override
    public Path exposed(String name) {
        Path p = targets.get(name);
        if (p == null) {
            throw new IllegalArgumentException("No target named " + name + "; have " + targets.keySet());
        }
        return p;
    }

    @Override
    public void close() {
    }

    @Override
    public String toString() {
        return "direct";
    }
}
