package io.migtunnel.metrics;

import io.micrometer.core.instrument.Meter;
import java.util.List;

/**
 * One kind of meter: its Micrometer name (Prometheus: dots become underscores, then the base unit
 * and suffixes such as {@code _total}), type, base unit or null, meaning, and the tag keys every
 * such meter carries.
 */
public record MeterSpec(String meterName, Meter.Type type, String baseUnit, String description, List<String> tagKeys) {

    public MeterSpec {
        tagKeys = List.copyOf(tagKeys);
    }

    MeterSpec(String meterName, Meter.Type type, String baseUnit, String description, String... tagKeys) {
        this(meterName, type, baseUnit, description, List.of(tagKeys));
    }

    /** An entry of a meter catalogue ({@link TunnelMeters}, {@link MigrationMeters}). */
    public interface Entry {
        MeterSpec spec();

        /** The Micrometer name. */
        default String meterName() {
            return spec().meterName();
        }

        default Meter.Type type() {
            return spec().type();
        }

        /** The base unit, or null. */
        default String baseUnit() {
            return spec().baseUnit();
        }

        default String description() {
            return spec().description();
        }

        /** The tag keys every meter of this kind carries. */
        default List<String> tagKeys() {
            return spec().tagKeys();
        }
    }
}
