package io.migtunnel.transport;

import java.nio.file.Path;

/**
 * Routes of one destination session, added while it runs (by a {@link StreamHandler}) on top of
 * the destination's configured routes, which they override. Thread-safe; the routes end with the
 * session.
 */
public interface SessionRoutes {
    /** Streams named {@code name} opened after this call are joined to the UNIX socket {@code socket}. */
    void add(String name, Path socket);

    /** Removes a route added with {@link #add}; later streams of that name fall back to the configured routes. */
    void remove(String name);
}
