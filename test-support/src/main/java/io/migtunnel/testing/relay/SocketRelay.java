package io.migtunnel.testing.relay;

import java.nio.file.Path;
import java.util.Map;

/** Joins exposed UNIX sockets to target UNIX sockets, both directions; what the tests run "through". */
@SuppressWarnings("try") // close() may throw InterruptedException: it waits for processes
public interface SocketRelay extends AutoCloseable {

    /**
     * After start, connecting to {@link #exposed(String) exposed(name)} reaches the target socket
     * given for name. Creates {@code exposeDir/<name>.sock} for every name and returns only once
     * every exposed socket is accepting connections. Targets are connected lazily, per connection,
     * so they need not exist yet.
     */
    void start(Map<String, Path> targetsByName, Path exposeDir) throws Exception;

    /** The UNIX socket clients connect to for {@code name}; only valid after {@link #start}. */
    Path exposed(String name);

    /**
     * Whether connections reach a target in the order clients opened them on the exposed socket.
     * QEMU 7.2 needs this for multifd: the destination takes the first connection it accepts as the
     * main channel (QEMU 8.1+ peeks at the magic instead). Forking relays such as socat cannot
     * promise it.
     */
    default boolean preservesConnectionOrder() {
        return true;
    }

    /** Relay-side logs or state worth showing when a test fails; empty if there is nothing. */
    default String diagnostics() {
        return "";
    }

    @Override
    void close() throws Exception;
}
