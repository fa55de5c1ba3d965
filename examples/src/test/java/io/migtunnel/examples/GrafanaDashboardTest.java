package io.migtunnel.examples;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.migtunnel.metrics.TunnelMeters;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Keeps {@code grafana/migtunnel-dashboard.json} in step with {@link TunnelMeters}. */
class GrafanaDashboardTest {
    private static final Path DASHBOARD = Path.of("grafana", "migtunnel-dashboard.json");
    private static final Pattern METRIC = Pattern.compile("\\bmigtunnel_[a-z0-9_]+");

    @Test
    void everyMetricInEveryExpressionIsATunnelMeter() throws Exception {
        JsonNode dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
        List<String> expressions = expressions(dashboard);
        assertThat(expressions).isNotEmpty();

        Set<String> used = new TreeSet<>();
        for (String expr : expressions) {
            Matcher m = METRIC.matcher(expr);
            assertThat(m.find()).as("expression without a migtunnel metric: %s", expr).isTrue();
            do {
                used.add(m.group());
            } while (m.find());
        }
        assertThat(prometheusNames()).containsAll(used);
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

    /** Names as Prometheus exposes them: dots become underscores; counters get {@code _total}, timers four series. */
    static Set<String> prometheusNames() {
        Set<String> names = new TreeSet<>();
        for (TunnelMeters meter : TunnelMeters.values()) {
            String base = meter.meterName().replace('.', '_');
            switch (meter.type()) {
                case COUNTER -> names.add(base + "_total");
                case TIMER -> List.of("_count", "_sum", "_bucket", "_max").forEach(s -> names.add(base + "_seconds" + s));
                case GAUGE -> names.add(base);
                default -> throw new AssertionError("no Prometheus naming rule for " + meter.type());
            }
        }
        return names;
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
