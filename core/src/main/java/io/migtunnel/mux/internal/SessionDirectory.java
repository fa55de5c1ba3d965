package io.migtunnel.mux.internal;

import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A server's resumable sessions by their current token (PROTOCOL.md section 13): where a
 * connection that asks to resume finds its session. Sessions enter when their handshake completes,
 * move to a new token at each resume and leave when they end. Thread safe: sessions on different
 * event loops share one directory.
 */
public final class SessionDirectory {
    private final Map<String, MuxSession> sessions = new ConcurrentHashMap<>();

    void register(byte[] token, MuxSession session) {
        sessions.put(HexFormat.of().formatHex(token), session);
    }

    void unregister(byte[] token, MuxSession session) {
        sessions.remove(HexFormat.of().formatHex(token), session);
    }

    /** The session {@code token} names, or null. */
    MuxSession find(byte[] token) {
        return sessions.get(HexFormat.of().formatHex(token));
    }

    /** How many resumable sessions are known (for tests and metrics). */
    public int size() {
        return sessions.size();
    }
}
