package io.migtunnel.cli;

import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** A byte count or rate (bytes per second) with an optional binary suffix: {@code 800M}, {@code 1.5G}, {@code 65536}. */
final class ByteUnits implements ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
        String v = value.trim().toUpperCase(Locale.ROOT);
        if (v.endsWith("/S")) {
            v = v.substring(0, v.length() - 2);
        }
        if (v.endsWith("IB")) {
            v = v.substring(0, v.length() - 2);
        } else if (v.endsWith("B")) {
            v = v.substring(0, v.length() - 1);
        }
        long unit = 1;
        if (!v.isEmpty()) {
            switch (v.charAt(v.length() - 1)) {
                case 'K' -> unit = 1L << 10;
                case 'M' -> unit = 1L << 20;
                case 'G' -> unit = 1L << 30;
                case 'T' -> unit = 1L << 40;
                default -> unit = 1;
            }
        }
        String number = unit == 1 ? v : v.substring(0, v.length() - 1);
        try {
            double n = Double.parseDouble(number);
            if (n < 0 || Double.isNaN(n) || Double.isInfinite(n)) {
                throw new NumberFormatException();
            }
            return (long) (n * unit);
        } catch (NumberFormatException e) {
            throw new TypeConversionException("'" + value + "' is not a number of bytes (e.g. 800M, 2G, 65536)");
        }
    }

    /** {@code bytes} in binary units, e.g. {@code 1.5 GiB}. */
    static String bytes(double bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        int i = 0;
        while (bytes >= 1024 && i < units.length - 1) {
            bytes /= 1024;
            i++;
        }
        return i == 0 ? String.format(Locale.ROOT, "%.0f %s", bytes, units[i])
            : String.format(Locale.ROOT, "%.1f %s", bytes, units[i]);
    }
}
