package io.migtunnel.mux;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The default urgencies by stream name. libvirt's RPC (keepalives, job commands) is control
 * traffic: it must not wait behind disk data, so {@code libvirt} has the urgency of {@code control}.
 */
class StreamPrioritiesTest {
    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource({"control, 0", "libvirt, 0", "migration, 1", "nbd, 5", "nbd/disk0, 5", "anything-else, 3"})
    void defaults(String name, int urgency) {
        assertThat(StreamPriorities.defaults().urgencyOf(name)).isEqualTo(urgency);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"libvirt", "control"})
    void controlTrafficIsMoreUrgentThanMigrationAndDisks(String name) {
        StreamPriorities p = StreamPriorities.defaults();
        assertThat(p.urgencyOf(name)).isEqualTo(StreamPriorities.MOST_URGENT)
            .isLessThan(p.urgencyOf("migration")).isLessThan(p.urgencyOf("nbd/disk0"));
    }
}
