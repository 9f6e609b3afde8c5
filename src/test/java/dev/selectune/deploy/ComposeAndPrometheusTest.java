package dev.selectune.deploy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docker-compose.yml, the Prometheus configuration and the dashboards' PromQL, checked by the real tools:
 * Debian's docker-compose ({@code config -q}) and promtool ({@code check config}, {@code check rules} on every
 * dashboard expression written as a recording rule). And the dashboards read only metrics that exist.
 */
class ComposeAndPrometheusTest {

    /**
     * Spring Boot's standard meters the dashboards may read besides docs/metrics.md (JVM, process, HTTP server),
     * in their Prometheus names.
     */
    static final Set<String> SPRING_BOOT_STANDARD = Set.of(
            "jvm_memory_used_bytes", "jvm_memory_committed_bytes", "jvm_memory_max_bytes",
            "jvm_gc_pause_seconds_count", "jvm_gc_pause_seconds_sum", "jvm_gc_pause_seconds_max",
            "jvm_threads_live_threads", "jvm_classes_loaded_classes",
            "process_cpu_usage", "system_cpu_usage", "system_cpu_count", "process_uptime_seconds",
            "http_server_requests_seconds_count", "http_server_requests_seconds_sum",
            "http_server_requests_seconds_max");

    private static final Map<String, String> COMPOSE_ENV = Map.of("SELECTUNE_API_KEYS", "demo:secret-key");

    @Test
    void composeFileIsValid() {
        ExternalTool compose = ExternalTool.require("docker-compose", "apt-get install -y docker-compose");
        ExternalTool.Result result = compose.run(COMPOSE_ENV, "-f", "docker-compose.yml", "config", "-q");
        assertThat(result.ok()).as("docker-compose config -q:\n%s", result.output()).isTrue();
    }

    @Test
    void composeWiresGpuDatabaseHealthAndTheSharedDashboards() {
        ExternalTool compose = ExternalTool.require("docker-compose", "apt-get install -y docker-compose");
        ExternalTool.Result result = compose.run(COMPOSE_ENV, "-f", "docker-compose.yml", "config");
        assertThat(result.ok()).as(result.output()).isTrue();
        String resolved = result.output();
        // The resolved form is stable YAML written by docker-compose itself; check the wiring the brief requires.
        assertThat(resolved).contains("condition: service_healthy", "driver: nvidia", "- gpu",
                "pg_isready", "image: postgres:17", "/actuator/health/readiness",
                "helm/selectune/dashboards:/var/lib/grafana/dashboards/selectune:ro",
                "deploy/grafana/provisioning:/etc/grafana/provisioning:ro",
                "deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro");
    }

    @Test
    void grafanaProvisioningPointsAtTheMountedDashboardsAndTheComposePrometheus() throws IOException {
        Yaml yaml = new Yaml(new SafeConstructor(new LoaderOptions()));
        Map<String, Object> compose = yaml.load(Files.readString(ExternalTool.PROJECT.resolve("docker-compose.yml")));
        Map<String, Object> grafana = child(child(compose, "services"), "grafana");
        String mount = ((List<?>) grafana.get("volumes")).stream().map(String::valueOf)
                .filter(v -> v.startsWith("./helm/selectune/dashboards:")).findFirst()
                .orElseThrow(() -> new AssertionError("grafana does not mount helm/selectune/dashboards"));
        String dashboardsInContainer = mount.split(":")[1];

        Path provisioning = ExternalTool.PROJECT.resolve("deploy/grafana/provisioning");
        Map<String, Object> dashboards = yaml.load(Files.readString(provisioning.resolve("dashboards/selectune.yml")));
        Map<?, ?> provider = (Map<?, ?>) ((List<?>) dashboards.get("providers")).get(0);
        assertThat(((Map<?, ?>) provider.get("options")).get("path")).isEqualTo(dashboardsInContainer);

        Map<String, Object> datasources =
                yaml.load(Files.readString(provisioning.resolve("datasources/prometheus.yml")));
        Map<?, ?> prometheus = (Map<?, ?>) ((List<?>) datasources.get("datasources")).get(0);
        assertThat(prometheus.get("type")).isEqualTo("prometheus");
        assertThat(String.valueOf(prometheus.get("url"))).isEqualTo("http://prometheus:9090");
        assertThat(child(compose, "services")).containsKey("prometheus");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> child(Map<String, Object> parent, String key) {
        assertThat(parent).containsKey(key);
        return (Map<String, Object>) parent.get(key);
    }

    @Test
    void composeRefusesToStartWithoutApiKeys() {
        ExternalTool compose = ExternalTool.require("docker-compose", "apt-get install -y docker-compose");
        ExternalTool.Result result = compose.run(Map.of("SELECTUNE_API_KEYS", ""),
                "-f", "docker-compose.yml", "config", "-q");
        assertThat(result.ok()).isFalse();
        assertThat(result.output()).contains("SELECTUNE_API_KEYS");
    }

    @Test
    void prometheusConfigIsValidAndScrapesTheActuator() throws IOException {
        ExternalTool promtool = ExternalTool.require("promtool", "apt-get install -y prometheus");
        ExternalTool.Result result = promtool.run("check", "config", "deploy/prometheus/prometheus.yml");
        assertThat(result.ok()).as("promtool check config:\n%s", result.output()).isTrue();
        assertThat(Files.readString(ExternalTool.PROJECT.resolve("deploy/prometheus/prometheus.yml")))
                .contains("metrics_path: /actuator/prometheus", "selectune:8080");
    }

    @Test
    void everyDashboardExpressionParses(@TempDir Path dir) throws IOException {
        ExternalTool promtool = ExternalTool.require("promtool", "apt-get install -y prometheus");
        List<DashboardQueries.Query> queries = DashboardQueries.all();
        assertThat(queries).hasSizeGreaterThan(20);
        // promtool parses a rule's expression with the real PromQL parser: one recording rule per query.
        List<String> lines = new ArrayList<>(List.of("groups:", "  - name: dashboards", "    rules:"));
        for (int i = 0; i < queries.size(); i++) {
            lines.add("      - record: dashboard:query:" + i);
            lines.add("        expr: '" + queries.get(i).promql().replace("'", "''") + "'");
        }
        Path rules = dir.resolve("dashboard-rules.yml");
        Files.write(rules, lines);
        ExternalTool.Result result = promtool.run("check", "rules", rules.toString());
        if (!result.ok()) {
            StringBuilder listing = new StringBuilder();
            for (int i = 0; i < queries.size(); i++) {
                listing.append("dashboard:query:").append(i).append(" = ").append(queries.get(i)).append('\n');
            }
            throw new AssertionError("promtool check rules failed:\n" + result.output() + "\n" + listing);
        }
        assertThat(result.output()).contains("SUCCESS: " + queries.size() + " rules found");
    }

    @Test
    void dashboardsReadOnlyDocumentedOrStandardMetrics() {
        Set<String> documented = DashboardQueries.documentedMetrics(ExternalTool.PROJECT.resolve("docs/metrics.md"));
        assertThat(documented).contains("selectune_memory_peak_bytes", "selectune_training_steps_total",
                "selectune_training_step_duration_seconds_bucket");
        Set<String> unknown = new TreeSet<>();
        for (DashboardQueries.Query query : DashboardQueries.all()) {
            for (String metric : DashboardQueries.metricNames(query.promql())) {
                if (!documented.contains(metric) && !SPRING_BOOT_STANDARD.contains(metric)) {
                    unknown.add(metric + "  (" + query + ")");
                }
            }
        }
        assertThat(unknown).as("metrics neither in docs/metrics.md nor Spring Boot's standard set").isEmpty();
        // The dashboards cover what the issue asks for: BP/ZO peaks, device memory, steps, loss, queue.
        assertThat(DashboardQueries.metricNames()).contains("selectune_memory_peak_bytes",
                "selectune_device_memory_used_bytes", "selectune_process_resident_memory_bytes",
                "jvm_memory_used_bytes", "selectune_training_steps_total",
                "selectune_training_step_duration_seconds_bucket", "selectune_training_loss",
                "selectune_queue_depth", "selectune_jobs_running", "selectune_jobs_total",
                "selectune_job_duration_seconds_bucket");
    }
}
