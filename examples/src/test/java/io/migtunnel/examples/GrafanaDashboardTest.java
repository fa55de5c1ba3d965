package io.migtunnel.examples;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.migtunnel.metrics.MigrationMeters;
import io.migtunnel.metrics.TunnelMeters;
import io.micrometer.core.instrument.Meter;
import io.micrometer.prometheusmetrics.PrometheusNamingConvention;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Keeps {@code grafana/migtunnel-dashboard.json} in step with {@link TunnelMeters} and {@link MigrationMeters}. */
class GrafanaDashboardTest {
    private static final Path DASHBOARD = Path.of("grafana", "migtunnel-dashboard.json");
    private static final Pattern METRIC = Pattern.compile("\\bmigtunnel_[a-z0-9_]+");
    private static final PrometheusNamingConvention NAMING = new PrometheusNamingConvention();

    @Test
    void everyMetricInEveryExpressionIsAMeterOfTheCatalogue() throws Exception {
        assertThat(usedMetrics()).isNotEmpty();
        assertThat(prometheusNames()).containsAll(usedMetrics());
    }

    @Test
    void theDashboardShowsMigrationsAndStreamWindows() throws Exception {
        assertThat(usedMetrics()).contains("migtunnel_migration_active", "migtunnel_migration_step",
            "migtunnel_migration_ram_remaining_bytes", "migtunnel_migration_disk_copied_bytes",
            "migtunnel_migration_downtime_seconds_max", "migtunnel_migrations_total",
            "migtunnel_stream_buffered_bytes", "migtunnel_stream_send_window_bytes");
    }

    /** The metric names in every expression; each expression must name at least one. */
    private static Set<String> usedMetrics() throws Exception {
        List<String> expressions = expressions(new ObjectMapper().readTree(DASHBOARD.toFile()));
        Set<String> used = new TreeSet<>();
        for (String expr : expressions) {
            Matcher m = METRIC.matcher(expr);
            assertThat(m.find()).as("expression without a migtunnel metric: %s", expr).isTrue();
            do {
                used.add(m.group());
            } while (m.find());
        }
        return used;
    }

    @Test
    void everyQueryUsesTheDataSourceInput() throws Exception {
        JsonNode dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
        assertThat(dashboard.path("__inputs").findValuesAsText("name")).containsExactly("DS_PROMETHEUS");
        List<JsonNode> panels = panels(dashboard);
        for (JsonNode panel : panels) {
            if (!panel.path("type").asText().equals("row")) {
                assertThat(panel.path("datasource").path("uid").asText()).as(panel.path("title").asText())
                    .isEqualTo("${DS_PROMETHEUS}");
                panel.path("targets").forEach(t -> assertThat(t.path("datasource").path("uid").asText())
                    .isEqualTo("${DS_PROMETHEUS}"));
            }
        }
    }

    /** Names as Prometheus exposes them (Micrometer's naming: base unit appended; counters get {@code _total}). */
    static Set<String> prometheusNames() {
        Set<String> names = new TreeSet<>();
        for (TunnelMeters meter : TunnelMeters.values()) {
            addNames(names, meter.meterName(), meter.type(), meter.baseUnit());
        }
        for (MigrationMeters meter : MigrationMeters.values()) {
            addNames(names, meter.meterName(), meter.type(), meter.baseUnit());
        }
        return names;
    }

    private static void addNames(Set<String> names, String meterName, Meter.Type type, String baseUnit) {
        String base = NAMING.name(meterName, type, baseUnit).replace('.', '_'); // the exposition sanitizes units too
        switch (type) {
            case COUNTER -> names.add(base + "_total");
            case TIMER -> List.of("_count", "_sum", "_bucket", "_max").forEach(s -> names.add(base + s));
            case GAUGE -> names.add(base);
            default -> throw new AssertionError("no Prometheus naming rule for " + type);
        }
    }

    /** Every panel query and every template-variable query. */
    private static List<String> expressions(JsonNode dashboard) {
        List<String> expressions = new ArrayList<>();
        for (JsonNode panel : panels(dashboard)) {
            panel.path("targets").forEach(t -> expressions.add(t.path("expr").asText()));
        }
        dashboard.path("templating").path("list").forEach(v -> {
            if (v.path("type").asText().equals("query")) {
                expressions.add(v.path("definition").asText());
                expressions.add(v.path("query").path("query").asText());
            }
        });
        return expressions;
    }

    /** Top-level panels and the panels of collapsed rows. */
    private static List<JsonNode> panels(JsonNode dashboard) {
        List<JsonNode> panels = new ArrayList<>();
        dashboard.path("panels").forEach(p -> {
            panels.add(p);
            p.path("panels").forEach(panels::add);
        });
        return panels;
    }
}
