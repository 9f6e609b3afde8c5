package dev.selectune.deploy;

import com.jayway.jsonpath.JsonPath;
import dev.selectune.api.ServiceTestBase;
import dev.selectune.api.TestImages;
import org.junit.jupiter.api.Test;
import org.springframework.mock.web.MockMultipartFile;
import org.springframework.mock.web.MockPart;
import org.springframework.test.web.servlet.MvcResult;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.multipart;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

/**
 * The dashboards against the real service: run a real training job on the tiny SD 1.5 pipeline (the shared
 * service test context: real PostgreSQL, one CPU worker), then scrape {@code /actuator/prometheus} and find
 * every metric any dashboard queries, with the values a finished job must have left there.
 */
class DashboardMetricsScrapeTest extends ServiceTestBase {

    private static final String AUTH = "Bearer " + ServiceTestBase.ACME_KEY;
    /** With the random schedule and this seed the job runs both BP-low and ZO-high steps (3 + 1 today). */
    private static final int STEPS = 4;
    /** A sample line of the Prometheus text format: name, optional {labels}, value. */
    private static final Pattern SAMPLE = Pattern.compile(
            "^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(?:[^\"}]|\"(?:\\\\.|[^\"\\\\])*\")*})?\\s+(\\S+)");

    @Test
    void everyDashboardMetricIsScrapedAfterATrainingJob() throws Exception {
        workers.resumeClaims();
        String spec = "{\"base_model\": \"tiny-sd15\", \"instance_prompt\": \"a photo of sks dog\", \"steps\": "
                + STEPS + ", \"seed\": 11, \"schedule\": \"random\", \"zo_perturbations\": 1}";
        MvcResult created = mvc.perform(multipart("/v1/jobs").file(dog(0)).file(dog(1))
                        .part(new MockPart("spec", null, spec.getBytes(StandardCharsets.UTF_8),
                                org.springframework.http.MediaType.APPLICATION_JSON))
                        .header("Authorization", AUTH))
                .andExpect(status().isCreated()).andReturn();
        String id = JsonPath.read(created.getResponse().getContentAsString(), "$.id");

        String job = awaitFinished(id, Duration.ofMinutes(3));
        assertThat((String) JsonPath.read(job, "$.status")).as("job %s", job).isEqualTo("succeeded");

        // A long-running service has been through GC pauses; make sure this short-lived test JVM has too.
        System.gc();
        mvc.perform(get("/v1/models").header("Authorization", AUTH)).andExpect(status().isOk());
        String exposition = mvc.perform(get("/actuator/prometheus")).andExpect(status().isOk()).andReturn()
                .getResponse().getContentAsString();
        Map<String, List<Sample>> scraped = parse(exposition);

        Set<String> missing = new TreeSet<>(DashboardQueries.metricNames());
        missing.removeAll(scraped.keySet());
        assertThat(missing).as("dashboard metrics absent from /actuator/prometheus").isEmpty();

        // What the panels will show after this job, and that it agrees with the job the API reports: one success,
        // its BP and ZO steps by strategy, a peak on the CPU device for each kind of step that ran.
        int bpSteps = JsonPath.read(job, "$.steps.bp");
        int zoSteps = JsonPath.read(job, "$.steps.zo");
        assertThat(bpSteps + zoSteps).isEqualTo(STEPS);
        assertThat(sum(scraped, "selectune_jobs_total", "outcome=\"succeeded\"")).isGreaterThanOrEqualTo(1);
        assertThat(sum(scraped, "selectune_training_steps_total", "strategy=\"bp_low\""))
                .isGreaterThanOrEqualTo(bpSteps);
        assertThat(sum(scraped, "selectune_training_steps_total", "strategy=\"zo_high\""))
                .isGreaterThanOrEqualTo(zoSteps);
        assertThat(sum(scraped, "selectune_training_step_duration_seconds_count", ""))
                .isGreaterThanOrEqualTo(STEPS);
        if (bpSteps > 0) {
            assertThat(sum(scraped, "selectune_memory_peak_bytes", "device=\"cpu\",strategy=\"bp\"")).isPositive();
        }
        if (zoSteps > 0) {
            assertThat(sum(scraped, "selectune_memory_peak_bytes", "device=\"cpu\",strategy=\"zo\"")).isPositive();
        }
        assertThat(sum(scraped, "selectune_device_memory_used_bytes", "device=\"cpu\"")).isPositive();
        assertThat(sum(scraped, "selectune_process_resident_memory_bytes", "")).isPositive();
        assertThat(sum(scraped, "selectune_jobs_running", "")).isZero();
    }

    private String awaitFinished(String id, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            String body = mvc.perform(get("/v1/jobs/" + id).header("Authorization", AUTH))
                    .andExpect(status().isOk()).andReturn().getResponse().getContentAsString();
            String state = JsonPath.read(body, "$.status");
            if (!state.equals("queued") && !state.equals("running")) {
                return body;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("job " + id + " still " + state + " after " + timeout + ": " + body);
            }
            Thread.sleep(250);
        }
    }

    private static MockMultipartFile dog(int i) {
        return new MockMultipartFile("images", "0" + i + ".jpg", "image/jpeg", TestImages.dog(i));
    }

    record Sample(String labels, double value) {
    }

    static Map<String, List<Sample>> parse(String exposition) {
        Map<String, List<Sample>> samples = new HashMap<>();
        for (String line : exposition.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            assertThat(m.find()).as("exposition line: %s", line).isTrue();
            samples.computeIfAbsent(m.group(1), k -> new java.util.ArrayList<>())
                    .add(new Sample(m.group(2) == null ? "" : m.group(2), Double.parseDouble(m.group(3))));
        }
        return samples;
    }

    /** Sum of the samples of a metric whose label set contains {@code labelFilter} (a literal name="value"). */
    private static double sum(Map<String, List<Sample>> scraped, String metric, String labelFilter) {
        assertThat(scraped).containsKey(metric);
        return scraped.get(metric).stream().filter(s -> s.labels().contains(labelFilter))
                .mapToDouble(Sample::value).filter(v -> !Double.isNaN(v)).sum();
    }
}
