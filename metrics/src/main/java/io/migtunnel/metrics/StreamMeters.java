package io.migtunnel.metrics;

import io.migtunnel.metrics.TunnelMeters.Tags;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/** The meters of one stream name, created once so the data path does no registry lookup. */
final class StreamMeters {
    final Counter bytesSent;
    final Counter bytesReceived;
    final Counter framesSent;
    final Counter framesReceived;
    final Counter opened;
    final Timer creditBlocked;

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
