package dev.selectune.deploy;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The PromQL the Grafana dashboards run, and the metric names it reads: what the deployment tests check against
 * promtool, docs/metrics.md and a live scrape of {@code /actuator/prometheus}.
 *
 * <p>Grafana variables ({@code $instance}, {@code ${device}}, {@code $__rate_interval}, ...) are replaced by values
 * that keep the expression valid PromQL: durations by {@code 5m}, everything else by {@code .*} (the dashboards use
 * their variables only inside regex label matchers).
 */
final class DashboardQueries {

    /** The dashboards' one home, shared by docker-compose (mounted) and the Helm chart (ConfigMap). */
    static final Path DASHBOARDS = ExternalTool.PROJECT.resolve("helm/selectune/dashboards");

    /** One query: a panel target, or a variable's query (label_values / query_result reduced to its PromQL). */
    record Query(String dashboard, String source, String expr) {

        /** The expression with Grafana's variables substituted: plain PromQL. */
        String promql() {
            return substituteVariables(expr);
        }

        @Override
        public String toString() {
            return dashboard + " / " + source + ": " + expr;
        }
    }

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private static final Pattern DURATION_VARIABLE =
            Pattern.compile("\\$\\{?__(rate_interval|interval|range)(:[^}]*)?}?(?![A-Za-z0-9_])");
    private static final Pattern SECONDS_VARIABLE =
            Pattern.compile("\\$\\{?__(range_s|interval_ms|range_ms)}?(?![A-Za-z0-9_])");
    private static final Pattern OTHER_VARIABLE =
            Pattern.compile("\\$\\{[A-Za-z0-9_]+(:[^}]*)?}|\\$[A-Za-z_][A-Za-z0-9_]*|\\[\\[[A-Za-z0-9_]+(:[^]]*)?]]");
    private static final Pattern LABEL_VALUES =
            Pattern.compile("^\\s*label_values\\((.*),\\s*[A-Za-z_][A-Za-z0-9_]*\\s*\\)\\s*$", Pattern.DOTALL);
    private static final Pattern QUERY_RESULT = Pattern.compile("^\\s*query_result\\((.*)\\)\\s*$", Pattern.DOTALL);

    private static final Pattern STRING_LITERAL =
            Pattern.compile("\"(?:\\\\.|[^\"\\\\])*\"|'(?:\\\\.|[^'\\\\])*'|`[^`]*`");
    private static final Pattern BRACKETS = Pattern.compile("\\[[^\\]]*]");
    private static final Pattern BRACES = Pattern.compile("\\{[^}]*}");
    private static final Pattern GROUPING =
            Pattern.compile("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)");
    private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_:][A-Za-z0-9_:]*");
    private static final Set<String> KEYWORDS = Set.of("and", "or", "unless", "bool", "offset", "by", "without",
            "on", "ignoring", "group_left", "group_right", "inf", "nan", "atan2");

    private DashboardQueries() {
    }

    static List<Path> dashboardFiles() {
        try (Stream<Path> files = Files.list(DASHBOARDS)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".json")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + DASHBOARDS, e);
        }
    }

    /** Every query of every dashboard. */
    static List<Query> all() {
        List<Query> queries = new ArrayList<>();
        for (Path file : dashboardFiles()) {
            queries.addAll(of(file));
        }
        return queries;
    }

    /** The queries of one dashboard file: panel targets (rows' nested panels too) and variable queries. */
    static List<Query> of(Path file) {
        JsonNode dashboard;
        try {
            dashboard = JSON.readTree(Files.readString(file));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read dashboard " + file, e);
        }
        String name = file.getFileName().toString();
        List<Query> queries = new ArrayList<>();
        collectPanels(name, dashboard.path("panels"), queries);
        for (JsonNode variable : dashboard.path("templating").path("list")) {
            if (!"query".equals(variable.path("type").asString(""))) {
                continue;
            }
            JsonNode query = variable.path("query");
            String text = query.isObject() ? query.path("query").asString("") : query.asString("");
            String promql = variableQueryPromql(text);
            if (promql != null) {
                queries.add(new Query(name, "variable $" + variable.path("name").asString("?"), promql));
            }
        }
        return queries;
    }

    private static void collectPanels(String dashboard, JsonNode panels, List<Query> into) {
        for (JsonNode panel : panels) {
            String title = panel.path("title").asString("(untitled)");
            for (JsonNode target : panel.path("targets")) {
                String expr = target.path("expr").asString("");
                if (!expr.isBlank()) {
                    into.add(new Query(dashboard, "panel \"" + title + "\" " + target.path("refId").asString("?"),
                            expr));
                }
            }
            collectPanels(dashboard, panel.path("panels"), into);
        }
    }

    /** The PromQL inside a Grafana variable query, or null when it has none (e.g. label_values(label)). */
    static String variableQueryPromql(String query) {
        Matcher labelValues = LABEL_VALUES.matcher(query);
        if (labelValues.matches()) {
            return labelValues.group(1).trim();
        }
        Matcher queryResult = QUERY_RESULT.matcher(query);
        if (queryResult.matches()) {
            return queryResult.group(1).trim();
        }
        return null;
    }

    static String substituteVariables(String expr) {
        String result = DURATION_VARIABLE.matcher(expr).replaceAll("5m");
        result = SECONDS_VARIABLE.matcher(result).replaceAll("300");
        return OTHER_VARIABLE.matcher(result).replaceAll(".*");
    }

    /**
     * The metric names a PromQL expression reads: identifiers that are not functions, aggregations, keywords,
     * label names (in braces or grouping clauses) or parts of durations and numbers.
     */
    static Set<String> metricNames(String promql) {
        String text = STRING_LITERAL.matcher(promql).replaceAll("\"\"");
        text = BRACKETS.matcher(text).replaceAll("");
        text = BRACES.matcher(text).replaceAll("{}");
        text = GROUPING.matcher(text).replaceAll(" ");
        Set<String> names = new TreeSet<>();
        Matcher identifier = IDENTIFIER.matcher(text);
        while (identifier.find()) {
            String token = identifier.group();
            int before = identifier.start() - 1;
            if (before >= 0 && (Character.isDigit(text.charAt(before)) || text.charAt(before) == '.')) {
                continue; // the unit of a duration (5m) or an exponent (1e3)
            }
            int after = identifier.end();
            while (after < text.length() && Character.isWhitespace(text.charAt(after))) {
                after++;
            }
            if (after < text.length() && text.charAt(after) == '(') {
                continue; // a function or an aggregation
            }
            if (!KEYWORDS.contains(token.toLowerCase())) {
                names.add(token);
            }
        }
        return names;
    }

    /** Every metric name the dashboards read. */
    static Set<String> metricNames() {
        Set<String> names = new TreeSet<>();
        for (Query query : all()) {
            names.addAll(metricNames(query.promql()));
        }
        return names;
    }

    /**
     * The Prometheus series names docs/metrics.md promises: each table row's name, and for a timer the series
     * Micrometer derives from it ({@code _count}, {@code _sum}, {@code _max}, and {@code _bucket} for a histogram).
     */
    static Set<String> documentedMetrics(Path metricsMd) {
        Pattern row = Pattern.compile("^\\|\\s*`([a-z_:][a-z0-9_:]*)`\\s*\\|\\s*([^|]+)\\|");
        Set<String> names = new TreeSet<>();
        try {
            for (String line : Files.readAllLines(metricsMd)) {
                Matcher m = row.matcher(line);
                if (!m.find()) {
                    continue;
                }
                String name = m.group(1);
                String type = m.group(2).trim();
                if (type.startsWith("timer")) {
                    names.add(name + "_count");
                    names.add(name + "_sum");
                    names.add(name + "_max");
                    if (type.contains("histogram")) {
                        names.add(name + "_bucket");
                    }
                } else {
                    names.add(name);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + metricsMd, e);
        }
        return names;
    }
}
