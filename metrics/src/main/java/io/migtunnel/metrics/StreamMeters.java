package io.migtunnel.metrics;

import io.migtunnel.metrics.TunnelMeters.Tags;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.atomic.AtomicLong;

/** The meters of one stream name, created once so the data path does no registry lookup. */
final class StreamMeters {
    final Counter bytesSent;
    final Counter bytesReceived;
    final Counter framesSent;
    final Counter framesReceived;
    final Counter opened;
    final Timer creditBlocked;
    /** Bytes received and not yet taken by the local consumers, over the open streams of this name. */
    final AtomicLong buffered = new AtomicLong();
    /** Credit the peer allows, over the open streams of this name. */
    final AtomicLong sendWindow = new AtomicLong();

    StreamMeters(MeterRegistry registry, String stream) {
        bytesSent = counter(registry, TunnelMeters.STREAM_BYTES, stream, Tags.SENT);
        bytesReceived = counter(registry, TunnelMeters.STREAM_BYTES, stream, Tags.RECEIVED);
        framesSent = counter(registry, TunnelMeters.STREAM_FRAMES, stream, Tags.SENT);
        framesReceived = counter(registry, TunnelMeters.STREAM_FRAMES, stream, Tags.RECEIVED);
        opened = Counter.builder(TunnelMeters.STREAMS_OPENED.meterName())
            .description(TunnelMeters.STREAMS_OPENED.description())
            .tag(Tags.STREAM, stream)
            .register(registry);
        creditBlocked = Timer.builder(TunnelMeters.STREAM_CREDIT_BLOCKED.meterName())
            .description(TunnelMeters.STREAM_CREDIT_BLOCKED.description())
            .tag(Tags.STREAM, stream)
            .register(registry);
        gauge(registry, TunnelMeters.STREAM_BUFFERED, stream, buffered);
        gauge(registry, TunnelMeters.STREAM_SEND_WINDOW, stream, sendWindow);
    }

    private static void gauge(MeterRegistry registry, TunnelMeters meter, String stream, AtomicLong value) {
        Gauge.builder(meter.meterName(), value, AtomicLong::get)
            .description(meter.description())
            .baseUnit(meter.baseUnit())
            .tag(Tags.STREAM, stream)
            .strongReference(true)
            .register(registry);
    }

    private static Counter counter(MeterRegistry registry, TunnelMeters meter, String stream, String direction) {
        return Counter.builder(meter.meterName())
            .description(meter.description())
            .baseUnit(meter.baseUnit())
            .tag(Tags.STREAM, stream)
            .tag(Tags.DIRECTION, direction)
            .register(registry);
    }
}
