package io.migtunnel.mux.internal;

import io.migtunnel.protocol.Frame;
import io.migtunnel.protocol.ProtocolException;

/**
 * What the transport tells a session about its connection. Every call comes from the session's
 * event loop, in the order the connection saw it.
 */
public interface FrameReceiver {
    /** The connection is up: sends HELLO and starts the handshake timer. */
    void start();

    /** One decoded frame; the receiver takes ownership of it. */
    void onFrame(Frame frame);

    /** The frame decoder found a malformed frame. */
    void onDecodeError(ProtocolException e);

    /** The connection's writability changed. */
    void onWritabilityChanged();

    /** The connection closed under the session: {@code cause} is null for a clean EOF. */
    void onConnectionClosed(Throwable cause);
}
