package io.migtunnel.qemu.nbd;

import io.migtunnel.mux.MuxStream;
import io.migtunnel.mux.SessionListener;
import io.netty.buffer.ByteBuf;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Watches the NBD streams of a tunnel session passively: every stream whose name matches gets an
 * {@link NbdStreamObserver} fed with the stream's payloads, reporting to the recorder of its disk
 * (one recorder per stream name, shared by that disk's connections). The NBD client is always on
 * the side that opened the stream (QEMU connects to the source's exposed socket).
 *
 * <p>One instance may serve several sessions; observers are per stream and confined to the
 * stream's session loop.
 */
public final class NbdAwareness implements SessionListener {
    private final Predicate<String> isNbd;
    private final Function<String, NbdRecorder> recorders;
    private final Map<String, NbdRecorder> byDisk = new ConcurrentHashMap<>();
    private final Map<MuxStream, NbdStreamObserver> observers = new HashMap<>();

    /**
     * @param isNbd     which stream names carry NBD (for example {@code name.startsWith("nbd")})
     * @param recorders makes the recorder of a disk from its stream name; called once per name
     */
    public NbdAwareness(Predicate<String> isNbd, Function<String, NbdRecorder> recorders) {
        this.isNbd = isNbd;
        this.recorders = recorders;
    }

    @Override
    public void onStreamOpened(MuxStream stream) {
        if (isNbd.test(stream.name())) {
            NbdRecorder recorder = byDisk.computeIfAbsent(stream.name(), recorders);
            synchronized (observers) {
                observers.put(stream, new NbdStreamObserver(recorder));
            }
        }
    }

    @Override
    public void onPayload(MuxStream stream, boolean sent, ByteBuf payload) {
        NbdStreamObserver observer;
        synchronized (observers) {
            observer = observers.get(stream);
        }
        if (observer == null) {
            return;
        }
        if (sent == stream.isLocallyOpened()) {
            observer.clientToServer(payload);
        } else {
            observer.serverToClient(payload);
        }
    }

    @Override
    public void onStreamClosed(MuxStream stream, Throwable cause) {
        NbdStreamObserver observer;
        synchronized (observers) {
            observer = observers.remove(stream);
        }
        if (observer != null) {
            observer.close();
        }
    }
}
