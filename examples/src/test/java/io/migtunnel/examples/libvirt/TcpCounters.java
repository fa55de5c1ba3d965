package io.migtunnel.examples.libvirt;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A network namespace's TCP counters ({@code /proc/PID/net/snmp}, line {@code Tcp:}): every
 * connection opened in it, loopback included, however short-lived, counts in {@code ActiveOpens}
 * (this side connected) or {@code PassiveOpens} (this side accepted).
 */
record TcpCounters(long activeOpens, long passiveOpens) {
    /**
     * One TCP connection of {@code /proc/PID/net/tcp} or {@code tcp6}, IPv4 addresses (also
     * IPv4-mapped ones of an IPv6 socket, as Java's) dotted, others in the table's hex.
     */
    record Connection(String local, int localPort, String remote, int remotePort, String state) {
        @Override
        public String toString() {
            return local + ":" + localPort + " -> " + remote + ":" + remotePort + " " + state;
        }
    }

    private static final String[] STATES = {"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
        "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV"};

    static TcpCounters read(Path snmp) throws IOException {
        List<String> tcp = Files.readAllLines(snmp).stream().filter(l -> l.startsWith("Tcp:")).toList();
        if (tcp.size() != 2) {
            throw new IOException(snmp + " has no Tcp: header and values");
        }
        List<String> keys = List.of(tcp.get(0).split("\\s+"));
        String[] values = tcp.get(1).split("\\s+");
        return new TcpCounters(Long.parseLong(values[keys.indexOf("ActiveOpens")]),
            Long.parseLong(values[keys.indexOf("PassiveOpens")]));
    }

    /** The connections of {@code table} ({@code /proc/PID/net/tcp} or {@code tcp6}) that are not listeners. */
    static List<Connection> connections(Path table) throws IOException {
        List<Connection> out = new ArrayList<>();
        List<String> lines = Files.readAllLines(table);
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.strip().split("\\s+");
            int state = Integer.parseInt(f[3], 16);
            if (state == 10) {
                continue;
            }
            String[] local = f[1].split(":");
            String[] remote = f[2].split(":");
            out.add(new Connection(address(local[0]), Integer.parseInt(local[1], 16), address(remote[0]),
                Integer.parseInt(remote[1], 16), state < STATES.length ? STATES[state] : Integer.toString(state)));
        }
        return out;
    }

    /** The counters opened since {@code before}: both together, as one number. */
    long opensSince(TcpCounters before) {
        return activeOpens - before.activeOpens + passiveOpens - before.passiveOpens;
    }

    /** An address of the table: IPv4 and IPv4-mapped IPv6 dotted, other IPv6 as the table has it. */
    private static String address(String hex) {
        if (hex.length() == 8) {
            return ipv4(hex);
        }
        return hex.startsWith("0000000000000000FFFF0000") ? ipv4(hex.substring(24)) : hex;
    }

    /** {@code 0100007F} (little-endian hex) as {@code 127.0.0.1}. */
    private static String ipv4(String hex) {
        long v = Long.parseLong(hex, 16);
        return (v & 0xFF) + "." + (v >> 8 & 0xFF) + "." + (v >> 16 & 0xFF) + "." + (v >> 24 & 0xFF);
    }
}
