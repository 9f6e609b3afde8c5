package dev.selectune.deploy;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The metric-name extraction the dashboard checks and the live scrape test rely on. */
class DashboardQueriesTest {

    @Test
    void findsMetricsButNotFunctionsLabelsOrDurations() {
        assertThat(DashboardQueries.metricNames(
                "histogram_quantile(0.95, sum by (le, strategy) (rate(selectune_training_step_duration_seconds_bucket"
                        + "{instance=~\".*\", strategy!=\"bp_high\"}[5m])))"))
                .containsExactly("selectune_training_step_duration_seconds_bucket");
        assertThat(DashboardQueries.metricNames(
                "max by (instance) (selectune_process_resident_memory_bytes) - on (instance) group_left "
                        + "sum without (id, area) (jvm_memory_committed_bytes offset 1h) * 1e3"))
                .containsExactly("jvm_memory_committed_bytes", "selectune_process_resident_memory_bytes");
        assertThat(DashboardQueries.metricNames("up == bool 1 and on(job) process_cpu_usage > 0.5"))
                .containsExactly("process_cpu_usage", "up");
        assertThat(DashboardQueries.metricNames("sum(rate(foo_total[5m:30s])) / scalar(bar)"))
                .containsExactly("bar", "foo_total");
    }

    @Test
    void substitutesGrafanaVariablesIntoPlainPromql() {
        assertThat(DashboardQueries.substituteVariables(
                "sum by (strategy) (rate(x_total{instance=~\"$instance\", device=~\"${device}\"}[$__rate_interval]))"
                        + " / increase(y_total[$__range]) * $__range_s"))
                .isEqualTo("sum by (strategy) (rate(x_total{instance=~\".*\", device=~\".*\"}[5m]))"
                        + " / increase(y_total[5m]) * 300");
    }

    @Test
    void reducesVariableQueriesToTheirPromql() {
        assertThat(DashboardQueries.variableQueryPromql("label_values(selectune_jobs_running{job=\"a\"}, instance)"))
                .isEqualTo("selectune_jobs_running{job=\"a\"}");
        assertThat(DashboardQueries.variableQueryPromql("query_result(topk(3, up))")).isEqualTo("topk(3, up)");
        assertThat(DashboardQueries.variableQueryPromql("label_values(instance)")).isNull();
    }

    @Test
    void readsEveryPanelAndVariableOfTheRepositoryDashboards() {
        assertThat(DashboardQueries.dashboardFiles()).extracting(p -> p.getFileName().toString())
                .contains("selectune-memory.json", "selectune-training.json", "selectune-queue.json");
        assertThat(DashboardQueries.all()).anySatisfy(q -> {
            assertThat(q.source()).isEqualTo("variable $instance");
            assertThat(q.expr()).isEqualTo("selectune_jobs_running");
        });
        assertThat(DashboardQueries.all()).allSatisfy(q -> assertThat(q.promql()).doesNotContain("$"));
    }
}
