package io.migtunnel.transport.internal;

import reactor.netty.resources.LoopResources;

/** Event loops for an endpoint: the caller's, or one dedicated thread the endpoint owns. */
record Loops(LoopResources resources, boolean owned) {
    static Loops of(LoopResources given, String name) {
        return given != null ? new Loops(given, false) : new Loops(LoopResources.create(name, 1, 1, true), true);
    }

    void dispose() {
        if (owned) {
            resources.disposeLater().subscribe();
        }
    }
}
