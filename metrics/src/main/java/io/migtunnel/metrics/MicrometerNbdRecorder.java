package io.migtunnel.metrics;

import io.migtunnel.metrics.TunnelMeters.Tags;
import io.migtunnel.qemu.nbd.NbdCommand;
import io.migtunnel.qemu.nbd.NbdRecorder;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * NBD meters of one disk (one stream name, such as {@code nbd/disk0}); every connection carrying
 * that disk records into the same meters. Meters are created up front: the data path only adds.
 */
public final class MicrometerNbdRecorder implements NbdRecorder {
    private static final Logger log = LoggerFactory.getLogger(MicrometerNbdRecorder.class);
    private final String disk;
    private final Map<NbdCommand, Counter> requests = new EnumMap<>(NbdCommand.class);
    private final Map<NbdCommand, Counter> bytes = new EnumMap<>(NbdCommand.class);
    private final Map<NbdCommand, Counter> errors = new EnumMap<>(NbdCommand.class);
    private final Map<NbdCommand, Timer> latency = new EnumMap<>(NbdCommand.class);
    private final AtomicLong inFlight = new AtomicLong();

    public MicrometerNbdRecorder(MeterRegistry registry, String disk) {
        this.disk = disk;
        for (NbdCommand c : NbdCommand.values()) {
            String type = c.name().toLowerCase(Locale.ROOT);
            requests.put(c, counter(registry, TunnelMeters.NBD_REQUESTS, type));
            bytes.put(c, counter(registry, TunnelMeters.NBD_BYTES, type));
            errors.put(c, counter(registry, TunnelMeters.NBD_ERRORS, type));
            latency.put(c, Timer.builder(TunnelMeters.NBD_LATENCY.meterName())
                .description(TunnelMeters.NBD_LATENCY.description())
                .tag(Tags.STREAM, disk).tag(Tags.TYPE, type)
                .publishPercentileHistogram()
                .register(registry));
        }
        Gauge.builder(TunnelMeters.NBD_IN_FLIGHT.meterName(), inFlight, AtomicLong::get)
            .description(TunnelMeters.NBD_IN_FLIGHT.description())
            .tag(Tags.STREAM, disk)
            .register(registry);
    }

    private Counter counter(MeterRegistry registry, TunnelMeters meter, String type) {
        return Counter.builder(meter.meterName())
            .description(meter.description())
            .baseUnit(meter.baseUnit())
            .tag(Tags.STREAM, disk).tag(Tags.TYPE, type)
            .register(registry);
    }

    @Override
    public void onRequest(NbdCommand command, long length) {
        requests.get(command).increment();
        if (command == NbdCommand.WRITE) {
            bytes.get(command).increment(length);
        }
        if (command != NbdCommand.DISC) {
            inFlight.incrementAndGet();
        }
    }

    @Override
    public void onReply(NbdCommand command, long payloadBytes, long latencyNanos, int error) {
        inFlight.decrementAndGet();
        if (command == NbdCommand.READ) {
            bytes.get(command).increment(payloadBytes);
        }
        if (error != 0) {
            errors.get(command).increment();
        }
        latency.get(command).record(latencyNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void onAbandoned(int requests) {
        inFlight.addAndGet(-requests);
    }

    @Override
    public void onUndecodable(String reason) {
        log.warn("{}: stopped decoding NBD ({}); bytes keep flowing untouched", disk, reason);
    }
}
