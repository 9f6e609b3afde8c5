package dev.selectune.deploy;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Lints the Helm chart and renders it (helm-java: Helm's own Go code, no cluster) with default values and with
 * GPU workers, ingress, ServiceMonitor and an existing Secret, then checks every rendered document is a valid
 * Kubernetes object that fits together with the others: selectors match pod labels, probes and ports line up,
 * env references resolve, the GPU is requested, the dashboards ConfigMap carries the repository's JSON.
 */
class HelmChartTest {

    private static final Path CHART = ExternalTool.PROJECT.resolve("helm/selectune");
    private static final Pattern DNS_1123_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
    private static final Pattern DNS_1123_SUBDOMAIN = Pattern.compile("[a-z0-9]([-a-z0-9.]*[a-z0-9])?");
    private static final Map<String, String> API_VERSIONS = Map.of(
            "ConfigMap", "v1", "Secret", "v1", "ServiceAccount", "v1", "Service", "v1",
            "PersistentVolumeClaim", "v1", "Deployment", "apps/v1", "Ingress", "networking.k8s.io/v1",
            "ServiceMonitor", "monitoring.coreos.com/v1");

    @Test
    void lintsCleanInStrictMode() {
        LintResult result = new Helm(CHART).lint().strict().call();
        assertThat(result.isFailed()).as("helm lint --strict: %s", result.getMessages()).isFalse();
        assertThat(result.getMessages()).noneMatch(m -> m.contains("[ERROR]") || m.contains("[WARNING]"));
    }

    @Test
    void defaultValuesRenderApiAndCpuWorkersWithoutOptionalObjects() {
        Rendered r = render(Map.of());

        assertThat(r.kinds()).containsExactlyInAnyOrder("ServiceAccount", "Secret", "ConfigMap", "ConfigMap",
                "PersistentVolumeClaim", "Service", "Service", "Deployment", "Deployment");
        Map<String, Object> api = r.one("Deployment", "demo-selectune-api");
        Map<String, Object> worker = r.one("Deployment", "demo-selectune-worker");
        assertThat(env(container(api), "SELECTUNE_WORKERS_ENABLED")).isEqualTo("false");
        assertThat(env(container(worker), "SELECTUNE_WORKERS_ENABLED")).isEqualTo("true");
        assertThat(env(container(worker), "SELECTUNE_DEVICES")).isEqualTo("cpu");
        assertThat(str(container(worker), "image")).isEqualTo("selectune:0.1.0");
        assertThat(limits(container(worker))).doesNotContainKey("nvidia.com/gpu");
        assertThat(r.one("ConfigMap", "demo-selectune").get("data")).asInstanceOf(
                        org.assertj.core.api.InstanceOfAssertFactories.MAP)
                .containsEntry("SELECTUNE_MODELS", "sd15=/models/stable-diffusion-v1-5")
                .containsEntry("SELECTUNE_EVAL_MODELS", "")
                .containsEntry("SELECTUNE_WEBHOOKS_ALLOW_INSECURE_TARGETS", "false")
                .containsKey("SPRING_DATASOURCE_URL");
        assertThat(map(map(r.one("PersistentVolumeClaim", "demo-selectune-models"), "spec"), "resources"))
                .isNotEmpty();
        r.checkConsistency(null);
    }

    @Test
    void gpuIngressServiceMonitorAndExistingSecret() throws IOException {
        Rendered r = render(values(
                "gpu.enabled", true,
                "gpu.count", 2,
                "workers.nodeSelector.cloud\\.google\\.com/gke-accelerator", "nvidia-l4",
                "ingress.enabled", true,
                "ingress.className", "nginx",
                "ingress.hosts[0].host", "tune.example.org",
                "ingress.hosts[0].paths[0].path", "/",
                "ingress.hosts[0].paths[0].pathType", "Prefix",
                "metrics.serviceMonitor.enabled", true,
                "metrics.serviceMonitor.labels.release", "kube-prometheus-stack",
                "existingSecret", "selectune-credentials",
                "evalModels.clip", "/models/clip-vit-base-patch32",
                "evalModels.dino", "/models/dino-vits16",
                "webhooks.allowInsecureTargets", true));
        assertThat(r.one("ConfigMap", "demo-selectune").get("data")).asInstanceOf(
                        org.assertj.core.api.InstanceOfAssertFactories.MAP)
                .containsEntry("SELECTUNE_EVAL_MODELS", "clip=/models/clip-vit-base-patch32,dino=/models/dino-vits16")
                .containsEntry("SELECTUNE_WEBHOOKS_ALLOW_INSECURE_TARGETS", "true");

        assertThat(r.kinds()).contains("Ingress", "ServiceMonitor").doesNotContain("Secret");
        Map<String, Object> worker = r.one("Deployment", "demo-selectune-worker");
        Map<String, Object> workerContainer = container(worker);
        assertThat(limits(workerContainer)).containsEntry("nvidia.com/gpu", 2);
        assertThat(map(map(workerContainer, "resources"), "requests")).containsEntry("nvidia.com/gpu", 2);
        assertThat(env(workerContainer, "SELECTUNE_DEVICES")).isEqualTo("gpu0,gpu1");
        assertThat(str(workerContainer, "image")).isEqualTo("selectune:0.1.0-cu128");
        Map<String, Object> podSpec = podSpec(worker);
        assertThat(map(podSpec, "nodeSelector")).containsEntry("cloud.google.com/gke-accelerator", "nvidia-l4");
        assertThat(list(podSpec, "tolerations")).anySatisfy(t ->
                assertThat(t).asInstanceOf(org.assertj.core.api.InstanceOfAssertFactories.MAP)
                        .containsEntry("key", "nvidia.com/gpu").containsEntry("effect", "NoSchedule"));

        Map<String, Object> apiContainer = container(r.one("Deployment", "demo-selectune-api"));
        assertThat(limits(apiContainer)).doesNotContainKey("nvidia.com/gpu");
        assertThat(str(apiContainer, "image")).isEqualTo("selectune:0.1.0");
        assertThat(secretRef(apiContainer, "SPRING_DATASOURCE_PASSWORD"))
                .containsEntry("name", "selectune-credentials");

        Map<String, Object> monitor = r.one("ServiceMonitor", "demo-selectune");
        assertThat(map(monitor, "metadata").get("labels")).asInstanceOf(
                org.assertj.core.api.InstanceOfAssertFactories.MAP).containsEntry("release", "kube-prometheus-stack");
        Map<String, Object> endpoint = map(list(map(monitor, "spec"), "endpoints").get(0));
        assertThat(endpoint).containsEntry("path", "/actuator/prometheus");

        Map<String, Object> ingress = r.one("Ingress", "demo-selectune");
        assertThat(map(ingress, "spec")).containsEntry("ingressClassName", "nginx");
        r.checkConsistency("selectune-credentials");
    }

    @Test
    void dashboardsConfigMapCarriesTheRepositoryDashboardsForTheGrafanaSidecar() throws IOException {
        Rendered r = render(Map.of());
        Map<String, Object> cm = r.one("ConfigMap", "demo-selectune-dashboards");
        assertThat(map(map(cm, "metadata"), "labels")).containsEntry("grafana_dashboard", "1");
        Map<String, Object> data = map(cm, "data");
        List<Path> files = DashboardQueries.dashboardFiles();
        assertThat(files).hasSizeGreaterThanOrEqualTo(3);
        assertThat(data.keySet()).containsExactlyInAnyOrderElementsOf(
                files.stream().map(f -> f.getFileName().toString()).toList());
        JsonMapper json = JsonMapper.builder().build();
        for (Path file : files) {
            String rendered = (String) data.get(file.getFileName().toString());
            assertThat(json.readTree(rendered)).as(file.toString()).isEqualTo(json.readTree(Files.readString(file)));
        }
    }

    @Test
    void everyValueIsDocumented() throws IOException {
        // A key is documented when a comment sits right above it or above one of its ancestors (a documented map
        // such as `resources` need not comment each of its entries).
        List<String> lines = Files.readAllLines(CHART.resolve("values.yaml"));
        List<Integer> indents = new ArrayList<>();
        List<Boolean> documented = new ArrayList<>();
        List<String> undocumented = new ArrayList<>();
        Pattern key = Pattern.compile("^(\\s*)([A-Za-z_][A-Za-z0-9_.-]*):(.*)$");
        for (int i = 0; i < lines.size(); i++) {
            var m = key.matcher(lines.get(i));
            if (!m.matches()) {
                continue;
            }
            int indent = m.group(1).length();
            while (!indents.isEmpty() && indents.get(indents.size() - 1) >= indent) {
                indents.remove(indents.size() - 1);
                documented.remove(documented.size() - 1);
            }
            boolean commented = i > 0 && lines.get(i - 1).trim().startsWith("#");
            boolean inherited = documented.contains(true);
            if (!commented && !inherited) {
                undocumented.add((i + 1) + ": " + lines.get(i).trim());
            }
            indents.add(indent);
            documented.add(commented);
        }
        assertThat(undocumented).as("values.yaml keys without a comment").isEmpty();
    }

    @Test
    void refusesToRenderWithoutADatabaseUrl() {
        assertThatThrownBy(() -> render(Map.of("database.url", "")))
                .hasMessageContaining("database.url is required");
    }

    // ---------------------------------------------------------------------------------------------------------

    private static Map<String, Object> values(Object... keysAndValues) {
        Map<String, Object> values = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            values.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return values;
    }

    private static Rendered render(Map<String, Object> values) {
        TemplateCommand template = new Helm(CHART).template().withName("demo").withNamespace("tuning")
                .withKubeVersion("1.31.0");
        values.forEach(template::set);
        String yaml = template.call();
        List<Map<String, Object>> docs = new ArrayList<>();
        for (Object doc : new Yaml(new SafeConstructor(new LoaderOptions())).loadAll(yaml)) {
            if (doc != null) {
                assertThat(doc).as("rendered document").isInstanceOf(Map.class);
                docs.add(map(doc));
            }
        }
        assertThat(docs).as("rendered documents").isNotEmpty();
        return new Rendered(docs);
    }

    /** The rendered manifests of one release. */
    private record Rendered(List<Map<String, Object>> docs) {

        List<String> kinds() {
            return docs.stream().map(d -> str(d, "kind")).toList();
        }

        Map<String, Object> one(String kind, String name) {
            List<Map<String, Object>> found = docs.stream()
                    .filter(d -> kind.equals(d.get("kind")) && name.equals(map(d, "metadata").get("name")))
                    .toList();
            assertThat(found).as("%s %s among %s", kind, name, names()).hasSize(1);
            return found.get(0);
        }

        List<Map<String, Object>> all(String kind) {
            return docs.stream().filter(d -> kind.equals(d.get("kind"))).toList();
        }

        List<String> names() {
            return docs.stream().map(d -> d.get("kind") + "/" + map(d, "metadata").get("name")).toList();
        }

        /** Every object valid for its kind, and every reference between objects resolves. */
        void checkConsistency(String existingSecret) {
            Set<String> seen = new TreeSet<>();
            for (Map<String, Object> doc : docs) {
                String kind = str(doc, "kind");
                assertThat(API_VERSIONS).as("known kind").containsKey(kind);
                assertThat(doc.get("apiVersion")).as("%s apiVersion", kind).isEqualTo(API_VERSIONS.get(kind));
                Map<String, Object> metadata = map(doc, "metadata");
                String name = str(metadata, "name");
                assertThat(name.length()).as("%s %s name length", kind, name).isLessThanOrEqualTo(63);
                assertThat(DNS_1123_SUBDOMAIN.matcher(name).matches()).as("%s name %s", kind, name).isTrue();
                assertThat(seen.add(kind + "/" + name)).as("duplicate %s/%s", kind, name).isTrue();
                assertThat(map(metadata, "labels")).as("%s %s labels", kind, name)
                        .containsEntry("app.kubernetes.io/instance", "demo")
                        .containsEntry("app.kubernetes.io/name", "selectune");
                for (Object value : map(metadata, "labels").values()) {
                    assertThat(value).as("label values are strings in %s %s", kind, name).isInstanceOf(String.class);
                }
            }
            all("Deployment").forEach(d -> checkDeployment(d, existingSecret));
            all("Service").forEach(this::checkService);
            all("Ingress").forEach(this::checkIngress);
            all("ServiceMonitor").forEach(this::checkServiceMonitor);
        }

        private void checkDeployment(Map<String, Object> deployment, String existingSecret) {
            String name = str(map(deployment, "metadata"), "name");
            Map<String, Object> spec = map(deployment, "spec");
            assertThat(spec.get("replicas")).as("%s replicas", name).isInstanceOf(Integer.class);
            Map<String, Object> selector = map(map(spec, "selector"), "matchLabels");
            Map<String, Object> podLabels = map(map(map(spec, "template"), "metadata"), "labels");
            assertThat(selector).as("%s selector", name).isNotEmpty();
            assertThat(podLabels).as("%s pod labels match its selector", name).containsAllEntriesOf(selector);

            Map<String, Object> pod = podSpec(deployment);
            String serviceAccount = str(pod, "serviceAccountName");
            assertThat(names()).as("%s service account", name).contains("ServiceAccount/" + serviceAccount);
            Set<String> volumes = list(pod, "volumes").stream().map(v -> str(map(v), "name"))
                    .collect(Collectors.toSet());
            for (Object volume : list(pod, "volumes")) {
                Map<String, Object> claim = map(volume).containsKey("persistentVolumeClaim")
                        ? map(map(volume), "persistentVolumeClaim") : null;
                if (claim != null) {
                    assertThat(names()).as("%s claim", name)
                            .contains("PersistentVolumeClaim/" + str(claim, "claimName"));
                }
            }
            List<Object> containers = list(pod, "containers");
            assertThat(containers).as("%s containers", name).isNotEmpty();
            for (Object c : containers) {
                Map<String, Object> container = map(c);
                String image = str(container, "image");
                assertThat(image).as("%s image", name).matches("[a-z0-9./_-]+(:[A-Za-z0-9._-]+)?");
                Set<String> portNames = new TreeSet<>();
                for (Object p : list(container, "ports")) {
                    Map<String, Object> port = map(p);
                    assertThat(port.get("containerPort")).as("%s containerPort", name).isEqualTo(8080);
                    assertThat(DNS_1123_LABEL.matcher(str(port, "name")).matches()).isTrue();
                    portNames.add(str(port, "name"));
                }
                checkProbe(name, container, "startupProbe", "/actuator/health/liveness", portNames);
                checkProbe(name, container, "livenessProbe", "/actuator/health/liveness", portNames);
                checkProbe(name, container, "readinessProbe", "/actuator/health/readiness", portNames);
                for (Object m : list(container, "volumeMounts")) {
                    assertThat(volumes).as("%s mounts a declared volume", name).contains(str(map(m), "name"));
                }
                for (Object from : list(container, "envFrom")) {
                    String configMap = str(map(map(from), "configMapRef"), "name");
                    assertThat(names()).as("%s envFrom", name).contains("ConfigMap/" + configMap);
                }
                for (Object e : list(container, "env")) {
                    Map<String, Object> env = map(e);
                    assertThat(str(env, "name")).matches("[A-Z_][A-Z0-9_]*");
                    if (env.containsKey("valueFrom")) {
                        Map<String, Object> ref = map(map(env, "valueFrom"), "secretKeyRef");
                        checkSecretRef(name, ref, existingSecret);
                    } else {
                        assertThat(env.get("value")).as("%s env %s is a string", name, env.get("name"))
                                .isInstanceOf(String.class);
                    }
                }
                Map<String, Object> resources = map(container, "resources");
                Map<String, Object> requests = map(resources, "requests");
                Map<String, Object> limits = map(resources, "limits");
                assertThat(requests).as("%s requests", name).containsKeys("cpu", "memory");
                if (limits.containsKey("nvidia.com/gpu")) {
                    // Extended resources cannot be overcommitted: request must equal limit.
                    assertThat(requests.get("nvidia.com/gpu")).isEqualTo(limits.get("nvidia.com/gpu"));
                }
            }
        }

        private void checkSecretRef(String deployment, Map<String, Object> ref, String existingSecret) {
            String secretName = str(ref, "name");
            String key = str(ref, "key");
            if (existingSecret != null) {
                assertThat(secretName).as("%s uses the existing Secret", deployment).isEqualTo(existingSecret);
                return;
            }
            Map<String, Object> secret = one("Secret", secretName);
            assertThat(map(secret, "stringData")).as("%s secret key", deployment).containsKey(key);
        }

        private static void checkProbe(String deployment, Map<String, Object> container, String probe,
                                       String path, Set<String> portNames) {
            Map<String, Object> httpGet = map(map(container, probe), "httpGet");
            assertThat(httpGet).as("%s %s", deployment, probe).containsEntry("path", path);
            assertThat(portNames).as("%s %s port", deployment, probe).contains(String.valueOf(httpGet.get("port")));
        }

        private void checkService(Map<String, Object> service) {
            String name = str(map(service, "metadata"), "name");
            Map<String, Object> selector = map(map(service, "spec"), "selector");
            List<Map<String, Object>> pods = all("Deployment").stream()
                    .filter(d -> map(map(map(map(d, "spec"), "template"), "metadata"), "labels").entrySet()
                            .containsAll(selector.entrySet()))
                    .toList();
            assertThat(pods).as("Service %s selects some pods", name).isNotEmpty();
            for (Object p : list(map(service, "spec"), "ports")) {
                Object target = map(p).get("targetPort");
                for (Map<String, Object> deployment : pods) {
                    Set<String> ports = list(container(deployment), "ports").stream()
                            .map(x -> str(map(x), "name")).collect(Collectors.toSet());
                    assertThat(ports).as("Service %s targetPort on %s", name, deployment.get("metadata"))
                            .contains(String.valueOf(target));
                }
            }
        }

        private void checkIngress(Map<String, Object> ingress) {
            for (Object rule : list(map(ingress, "spec"), "rules")) {
                for (Object path : list(map(map(rule), "http"), "paths")) {
                    Map<String, Object> backend = map(map(map(path), "backend"), "service");
                    Map<String, Object> service = one("Service", str(backend, "name"));
                    String port = str(map(backend, "port"), "name");
                    assertThat(list(map(service, "spec"), "ports")).anySatisfy(p ->
                            assertThat(map(p).get("name")).isEqualTo(port));
                    assertThat(map(path).get("pathType")).isIn("Prefix", "Exact", "ImplementationSpecific");
                }
            }
        }

        private void checkServiceMonitor(Map<String, Object> monitor) {
            Map<String, Object> selector = map(map(map(monitor, "spec"), "selector"), "matchLabels");
            List<Map<String, Object>> services = all("Service").stream()
                    .filter(s -> map(map(s, "metadata"), "labels").entrySet().containsAll(selector.entrySet()))
                    .toList();
            assertThat(services).as("ServiceMonitor selects exactly the metrics Service").hasSize(1);
            Map<String, Object> metrics = services.get(0);
            // The training and memory meters live on the workers: the scraped Service must cover them.
            Map<String, Object> serviceSelector = map(map(metrics, "spec"), "selector");
            assertThat(serviceSelector).doesNotContainKey("app.kubernetes.io/component");
            for (Object e : list(map(monitor, "spec"), "endpoints")) {
                String port = str(map(e), "port");
                assertThat(list(map(metrics, "spec"), "ports")).anySatisfy(p ->
                        assertThat(map(p).get("name")).isEqualTo(port));
            }
        }
    }

    // -- small accessors over SnakeYAML's maps and lists ------------------------------------------------------

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object value) {
        if (value == null) {
            return new LinkedHashMap<>();
        }
        assertThat(value).isInstanceOf(Map.class);
        return (Map<String, Object>) value;
    }

    private static Map<String, Object> map(Map<String, Object> parent, String key) {
        return map(parent.get(key));
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Map<String, Object> parent, String key) {
        Object value = parent.get(key);
        if (value == null) {
            return List.of();
        }
        assertThat(value).as(key).isInstanceOf(List.class);
        return (List<Object>) value;
    }

    private static String str(Map<String, Object> parent, String key) {
        Object value = parent.get(key);
        assertThat(value).as("%s in %s", key, parent.keySet()).isInstanceOf(String.class);
        return (String) value;
    }

    private static Map<String, Object> podSpec(Map<String, Object> deployment) {
        return map(map(map(deployment, "spec"), "template"), "spec");
    }

    private static Map<String, Object> container(Map<String, Object> deployment) {
        return map(list(podSpec(deployment), "containers").get(0));
    }

    private static Map<String, Object> limits(Map<String, Object> container) {
        return map(map(container, "resources"), "limits");
    }

    private static String env(Map<String, Object> container, String name) {
        Map<String, String> values = new HashMap<>();
        for (Object e : list(container, "env")) {
            Map<String, Object> env = map(e);
            values.put(str(env, "name"), Objects.toString(env.get("value"), null));
        }
        assertThat(values).containsKey(name);
        return values.get(name);
    }

    private static Map<String, Object> secretRef(Map<String, Object> container, String name) {
        for (Object e : list(container, "env")) {
            Map<String, Object> env = map(e);
            if (name.equals(env.get("name"))) {
                return map(map(env, "valueFrom"), "secretKeyRef");
            }
        }
        throw new AssertionError("no env " + name);
    }
}
