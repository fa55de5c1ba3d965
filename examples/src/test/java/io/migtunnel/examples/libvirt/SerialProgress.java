package io.migtunnel.examples.libvirt;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A progress line the busy guest prints on its serial port every second of its time:
 * {@code busy guest: 12 s, sweep 5 at page 123, 2048 pages/s, writes 10 11, errors 0}.
 */
record SerialProgress(long seconds, long sweep, long page, String writes, long errors) {
    private static final Pattern LINE = Pattern.compile(
        "busy guest: (\\d+) s, sweep (\\d+) at page (\\d+), \\d+ pages/s, writes([ 0-9]*), errors (\\d+)");

    /** The last progress line of {@code serial}, null if there is none. */
    static SerialProgress last(String serial) {
        Matcher m = LINE.matcher(serial);
        SerialProgress last = null;
        while (m.find()) {
            last = new SerialProgress(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), Long.parseLong(m.group(3)),
                m.group(4).strip(), Long.parseLong(m.group(5)));
        }
        return last;
    }

    /** Whether the guest printed this after it was at page {@code position} of sweep {@code sweepThen}. */
    boolean isPast(long sweepThen, long position) {
        return sweep > sweepThen || sweep == sweepThen && page > position;
    }

    @Override
    public String toString() {
        return seconds + " s, sweep " + sweep + " at page " + page + ", writes " + writes + ", errors " + errors;
    }
}
