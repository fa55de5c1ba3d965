package io.migtunnel.mux;

import io.migtunnel.protocol.ErrorCode;
import io.netty.buffer.ByteBuf;
import java.time.Duration;
import java.util.List;

/** Forwards every event to several listeners, in order ({@link SessionListener#all}). */
final class CompositeListener implements SessionListener {
    private final List<SessionListener> listeners;

    CompositeListener(List<SessionListener> listeners) {
        this.listeners = listeners;
    }

    @Override
    public void onReady(Session session) {
        listeners.forEach(l -> l.onReady(session));
    }

    @Override
    public void onStreamOpened(MuxStream stream) {
        listeners.forEach(l -> l.onStreamOpened(stream));
    }

    @Override
    public void onStreamClosed(MuxStream stream, Throwable cause) {
        listeners.forEach(l -> l.onStreamClosed(stream, cause));
    }

    @Override
    public void onDataSent(MuxStream stream, int bytes) {
        for (SessionListener l : listeners) {
            l.onDataSent(stream, bytes);
        }
    }

    @Override
    public void onQueueingDelay(MuxStream stream, long nanos) {
        for (SessionListener l : listeners) {
            l.onQueueingDelay(stream, nanos);
        }
    }

    @Override
    public void onDataReceived(MuxStream stream, int bytes) {
        for (SessionListener l : listeners) {
            l.onDataReceived(stream, bytes);
        }
    }

    @Override
    public void onPayload(MuxStream stream, boolean sent, ByteBuf payload) {
        for (SessionListener l : listeners) {
            l.onPayload(stream, sent, payload);
        }
    }

    @Override
    public void onCreditBlocked(MuxStream stream, long nanos) {
        listeners.forEach(l -> l.onCreditBlocked(stream, nanos));
    }

    @Override
    public void onBufferedChanged(MuxStream stream, long delta) {
        for (SessionListener l : listeners) {
            l.onBufferedChanged(stream, delta);
        }
    }

    @Override
    public void onSendWindowChanged(MuxStream stream, long delta) {
        for (SessionListener l : listeners) {
            l.onSendWindowChanged(stream, delta);
        }
    }

    @Override
    public void onRoundTrip(Duration rtt) {
        listeners.forEach(l -> l.onRoundTrip(rtt));
    }

    @Override
    public void onProtocolError(ErrorCode code, String message) {
        listeners.forEach(l -> l.onProtocolError(code, message));
    }

    @Override
    public void onGoAwayReceived(long code, String message) {
        listeners.forEach(l -> l.onGoAwayReceived(code, message));
    }

    @Override
    public void onDisconnected(Session session, String why) {
        listeners.forEach(l -> l.onDisconnected(session, why));
    }

    @Override
    public void onResumed(Session session, Duration outage, long retransmittedBytes) {
        listeners.forEach(l -> l.onResumed(session, outage, retransmittedBytes));
    }

    @Override
    public void onResumeRefused(String reason) {
        listeners.forEach(l -> l.onResumeRefused(reason));
    }

    @Override
    public void onClosed(Session session, Throwable cause) {
        listeners.forEach(l -> l.onClosed(session, cause));
    }
}
