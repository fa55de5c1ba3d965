package io.migtunnel.mux;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The urgency of each stream this side writes, by stream name (RFC 9218's model: 0 is the most
 * urgent, 7 the least; streams of equal urgency share the connection round-robin). The session's
 * writer always serves the most urgent stream that has data and credit, and gives each less
 * urgent class that waits a guaranteed share, so none starves. Each side schedules its own
 * writes, so both ends should use the same priorities; nothing about them goes on the wire.
 *
 * <p>A rule names a stream exactly ({@code control}) or by prefix ({@code nbd/*}); the first
 * rule that matches wins, else {@link #DEFAULT_URGENCY}. Immutable.
 */
public final class StreamPriorities {
    /** Urgency of a stream no rule names (RFC 9218's default). */
    public static final int DEFAULT_URGENCY = 3;
    /** The most urgent. */
    public static final int MOST_URGENT = 0;
    /** The least urgent. */
    public static final int LEAST_URGENT = 7;
    /**
     * Streams this urgent or more read from their local socket even while the connection is full
     * (within their credit), so their bytes are queued and go first once it drains.
     */
    public static final int PULLS_WHILE_FULL = 1;

    /**
     * 0: the default {@link #urgentPipeLimit()}, no cap. Opt in with {@link #SUGGESTED_URGENT_PIPE_LIMIT}
     * where small messages matter more than bulk: while urgency 0 is active the cap slows bulk (0.7×),
     * and it made a postcopy-preempt migration's blocktime worse, its RAM stream being capped too.
     */
    public static final int DEFAULT_URGENT_PIPE_LIMIT = 0;
    /**
     * 256 KiB, measured: at ~1 GB/s an urgent frame then waits ~0.25 ms behind bulk in the
     * connection instead of several ms, at 0.7× the bulk rate while it is active (bench/README.md).
     */
    public static final int SUGGESTED_URGENT_PIPE_LIMIT = 256 * 1024;

    private static final StreamPriorities DEFAULTS = new StreamPriorities(defaultRules(), DEFAULT_URGENT_PIPE_LIMIT);

    private final Map<String, Integer> rules;
    /** The rules' names, first match first. */
    private final String[] order;
    private final int urgentPipeLimit;

    private StreamPriorities(Map<String, Integer> rules, int urgentPipeLimit) {
        this.rules = Map.copyOf(rules);
        this.order = rules.keySet().toArray(String[]::new);
        this.urgentPipeLimit = urgentPipeLimit;
    }

    /**
     * While a stream of urgency 0 has written within the last 10 ms, how many bytes of DATA of the
     * other urgencies this side lets be in the connection unread by the peer (its outbound buffer, both
     * kernels' buffers, the peer's unread queue): what the urgent stream's next frame can wait
     * behind. The side learns what the peer has read from PING/PONG pipe probes (PROTOCOL.md
     * section 8). Lower cuts the urgent stream's latency and costs bulk throughput while it is
     * active (throughput is at most this limit per probe round trip); 0 turns the cap off. Only
     * class 0 turns it on: the RAM migration (1) over disk mirrors (5) is bulk over bulk.
     */
    public int urgentPipeLimit() {
        return urgentPipeLimit;
    }

    /** These priorities with {@link #urgentPipeLimit()} set to {@code bytes} (0: no cap). */
    public StreamPriorities withUrgentPipeLimit(int bytes) {
        if (bytes != 0 && bytes < 16 * 1024) {
            throw new IllegalArgumentException("urgent pipe limit must be 0 (off) or at least 16 KiB, got " + bytes);
        }
        return new StreamPriorities(rules, order, bytes);
    }

    private StreamPriorities(Map<String, Integer> rules, String[] order, int urgentPipeLimit) {
        this.rules = rules;
        this.order = order;
        this.urgentPipeLimit = urgentPipeLimit;
    }

    /**
     * {@code control} and {@code libvirt} (orchestration, libvirt's RPC) 0; {@code migration/preempt}
     * 0 (QEMU's postcopy-preempt channel: the pages a vCPU waits for); {@code migration} 1 (QEMU's
     * migration stream and its return path, which postcopy page requests use); {@code nbd}
     * and {@code nbd/*} (disk mirrors, bulk) 5; anything else {@value #DEFAULT_URGENCY}.
     */
    public static StreamPriorities defaults() {
        return DEFAULTS;
    }

    private static Map<String, Integer> defaultRules() {
        Map<String, Integer> m = new LinkedHashMap<>();
        m.put("control", 0);
        m.put("libvirt", 0);
        m.put("migration/preempt", 0);
        m.put("migration", 1);
        m.put("nbd", 5);
        m.put("nbd/*", 5);
        return m;
    }

    /**
     * These priorities with {@code name} (exact, or a prefix ending in {@code *}) at {@code urgency},
     * ahead of every rule already here.
     */
    public StreamPriorities with(String name, int urgency) {
        if (urgency < MOST_URGENT || urgency > LEAST_URGENT) {
            throw new IllegalArgumentException("urgency of '" + name + "' must be 0..7, got " + urgency);
        }
        if (name.isEmpty() || name.equals("*")) {
            throw new IllegalArgumentException("a priority rule names a stream or a prefix ending in *, got '" + name + "'");
        }
        Map<String, Integer> m = new LinkedHashMap<>();
        m.put(name, urgency);
        for (String rule : order) {
            m.putIfAbsent(rule, rules.get(rule));
        }
        return new StreamPriorities(m, urgentPipeLimit);
    }

    /** The urgency of a stream named {@code name}. */
    public int urgencyOf(String name) {
        for (String rule : order) {
            boolean prefix = rule.endsWith("*");
            if (prefix ? name.startsWith(rule.substring(0, rule.length() - 1)) : name.equals(rule)) {
                return rules.get(rule);
            }
        }
        return DEFAULT_URGENCY;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("StreamPriorities{");
        for (String rule : order) {
            sb.append(rule).append('=').append(rules.get(rule)).append(' ');
        }
        return sb.append("else=").append(DEFAULT_URGENCY).append(", urgentPipeLimit=").append(urgentPipeLimit)
            .append('}').toString();
    }
}
