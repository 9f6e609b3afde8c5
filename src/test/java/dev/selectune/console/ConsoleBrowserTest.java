package dev.selectune.console;

import dev.selectune.api.ServiceTestBase;
import dev.selectune.jobs.JobSpec;
import dev.selectune.training.TrainingConfig;
import dev.selectune.training.schedule.StrategyChooser;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.Select;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

/**
 * The console in a real browser (headless chromium): sign in, upload images and create a job on the tiny pipeline,
 * watch it succeed on the job page, read the charts' points back and hold them to {@code /v1/jobs/{id}/metrics},
 * download the LoRA, and see another tenant's job as a 404 page. Each test leaves screenshots in
 * {@code target/console-screenshots/} and runs axe-core on the pages it visits.
 */
class ConsoleBrowserTest extends ServiceTestBase {
    private static final Duration JOB_TIMEOUT = Duration.ofMinutes(3);
    private static final double MIB = 1024.0 * 1024.0;

    @LocalServerPort
    int port;
    @Autowired
    JsonMapper json;

    private static List<Path> dogs() {
        return List.of(0, 1, 2, 3).stream().map(i -> Path.of("examples/images/dog/0" + i + ".jpg").toAbsolutePath())
                .toList();
    }

    private static void signIn(Browser b, String key) {
        b.get("/sign-in");
        b.driver.findElement(By.id("api_key")).sendKeys(key);
        b.driver.findElement(By.cssSelector("form[action='/sign-in'] button")).click();
        b.await(Duration.ofSeconds(20), d -> b.path().startsWith("/jobs"));
    }

    private static void assertAccessible(Browser b, String page) {
        assertThat(b.seriousAccessibilityViolations()).as("axe-core on " + page).isEmpty();
    }

    @Test
    void signInCreateAJobWatchItSucceedAndDownloadTheLora() throws Exception {
        try (Browser b = Browser.open(port, 1280, 1800)) {
            b.get("/jobs");
            assertThat(b.path()).isEqualTo("/sign-in");
            assertAccessible(b, "sign-in");
            b.driver.findElement(By.id("api_key")).sendKeys("st_not_a_key_0123456789");
            b.driver.findElement(By.cssSelector("form[action='/sign-in'] button")).click();
            assertThat(b.driver.findElement(By.id("api_key-error")).getText()).contains("unknown or revoked");

            signIn(b, ACME_KEY);
            assertThat(b.driver.getCurrentUrl()).doesNotContain(ACME_KEY);
            assertThat(b.driver.manage().getCookies()).noneMatch(c -> c.getValue().contains(ACME_KEY));
            assertAccessible(b, "jobs");

            b.get("/jobs/new");
            b.driver.findElement(By.id("f-images")).sendKeys(String.join("\n", dogs().stream().map(Path::toString)
                    .toList()));
            b.await(Duration.ofSeconds(10), d -> d.findElements(By.cssSelector("#previews li img")).size() == 4);
            b.driver.findElement(By.id("f-instance_prompt")).sendKeys("a photo of sks dog");
            b.driver.findElement(By.id("f-schedule-random")).click();
            WebElement steps = b.driver.findElement(By.id("f-steps"));
            steps.clear();
            steps.sendKeys("2");
            b.driver.findElement(By.id("f-validation_prompts")).sendKeys("a photo of sks dog on the beach");
            b.driver.findElement(By.cssSelector("details.advanced summary")).click();
            // Seed 3 with the random schedule draws one BP-low step, then one ZO-high step (as TrainingFlowTest).
            b.driver.findElement(By.id("f-seed")).sendKeys("3");
            b.driver.findElement(By.id("f-zo_perturbations")).sendKeys("1");
            b.driver.findElement(By.id("f-validation_steps")).sendKeys("1");
            b.screenshot("new-job");
            assertAccessible(b, "new job");
            b.driver.findElement(By.id("submit")).click();
            b.await(Duration.ofSeconds(30), d -> b.path().matches("/jobs/job_\\w+"));
            String id = b.path().substring("/jobs/".length());

            workers.resumeClaims();
            b.await(JOB_TIMEOUT, d -> "succeeded".equals(d.findElement(By.tagName("body")).getDomAttribute("data-job-status")));
            b.await(Duration.ofSeconds(20), d -> "2".equals(d.findElement(By.tagName("body"))
                    .getDomAttribute("data-charted-steps")));
            assertThat(b.driver.findElement(By.id("job-status")).getText()).isEqualTo("succeeded");
            assertThat(b.driver.findElements(By.cssSelector("#events li strong")).stream().map(WebElement::getText))
                    .contains("queued", "claimed", "progress", "succeeded");

            JsonNode metrics = json.readTree(mvc.perform(get("/v1/jobs/" + id + "/metrics")
                            .header("Authorization", "Bearer " + ACME_KEY))
                    .andExpect(status().isOk()).andReturn().getResponse().getContentAsString()).get("data");
            assertThat(metrics.size()).isEqualTo(2);
            assertChartMatches(b, "loss", metrics, "loss", 1.0);
            assertChartMatches(b, "timestep", metrics, "timestep", 1.0);
            assertMemoryChart(b, metrics);
            assertShadingIsTheTrainersSchedule(b, id);

            // The LoRA link downloads the same bytes the API stores, with the session (no key in the page).
            WebElement lora = b.driver.findElement(By.cssSelector("a[data-artifact='lora.safetensors']"));
            assertThat(lora.getDomAttribute("download")).isNotNull();
            String sha = (String) b.asyncScript("const done = arguments[arguments.length - 1];"
                    + "fetch(arguments[0]).then(r => r.arrayBuffer()).then(buf => crypto.subtle.digest('SHA-256', buf))"
                    + ".then(d => done(Array.from(new Uint8Array(d)).map(x => x.toString(16).padStart(2, '0')).join('')))"
                    + ".catch(e => done('error ' + e));", lora.getDomAttribute("href"));
            JsonNode artifacts = json.readTree(mvc.perform(get("/v1/jobs/" + id + "/artifacts")
                    .header("Authorization", "Bearer " + ACME_KEY)).andReturn().getResponse().getContentAsString());
            String stored = null;
            for (JsonNode a : artifacts.get("data")) {
                if (a.get("name").asString().equals("lora.safetensors")) {
                    stored = a.get("sha256").asString();
                }
            }
            assertThat(sha).isEqualTo(stored);
            assertThat(b.driver.findElements(By.cssSelector(".samples img"))).hasSize(1);
            b.screenshot("job");
            assertAccessible(b, "job");

            // Retry: a new-job form with the job's spec and images.
            b.driver.findElement(By.linkText("Retry with changes")).click();
            b.await(Duration.ofSeconds(20), d -> b.path().startsWith("/jobs/new?from="));
            assertThat(b.driver.findElement(By.id("f-instance_prompt")).getDomProperty("value"))
                    .isEqualTo("a photo of sks dog");
            assertThat(b.driver.findElement(By.id("f-steps")).getDomProperty("value")).isEqualTo("2");
            assertThat(b.driver.findElement(By.id("f-schedule-random")).isSelected()).isTrue();
            assertThat(b.driver.findElement(By.id("f-reuse")).isSelected()).isTrue();

            // Compare: a second job (cancelled while queued) picked in the table next to the first.
            workers.pauseClaims();
            String other = createQueuedJob();
            mvc.perform(org.springframework.test.web.servlet.request.MockMvcRequestBuilders
                    .post("/v1/jobs/" + other + "/cancel").header("Authorization", "Bearer " + ACME_KEY))
                    .andExpect(status().isOk());
            b.get("/jobs");
            b.driver.findElement(By.id("cmp-" + id)).click();
            b.driver.findElement(By.id("cmp-" + other)).click();
            b.driver.findElement(By.cssSelector("#compare-form button[type=submit]")).click();
            b.await(Duration.ofSeconds(20), d -> b.path().startsWith("/compare"));
            WebElement table = b.driver.findElement(By.id("compare-table"));
            assertThat(table.findElements(By.cssSelector("thead th"))).hasSize(3);
            assertThat(table.findElement(By.cssSelector("tr.differs")).getText()).contains("differs");
            assertThat(table.getText()).contains("schedule").contains("random").contains("bp_low");
            b.screenshot("compare");
            assertAccessible(b, "compare");

            // Delete, behind its confirmation, for the cancelled job.
            b.get("/jobs/" + other);
            WebElement confirm = b.driver.findElement(By.cssSelector("details.confirm button.danger"));
            assertThat(confirm.isDisplayed()).isFalse();
            b.driver.findElement(By.cssSelector("details.confirm summary")).click();
            b.driver.findElement(By.cssSelector("details.confirm button.danger")).click();
            b.await(Duration.ofSeconds(20), d -> b.path().startsWith("/jobs") && !b.path().contains(other));
            assertThat(jdbc.queryForObject("select count(*) from jobs where id = ?", Integer.class, other)).isZero();

            b.get("/models");
            assertThat(b.driver.findElement(By.tagName("table")).getText()).contains("tiny-sd15");
            assertAccessible(b, "models");

            // Another tenant sees a 404 page for it, not the job.
            b.driver.findElement(By.cssSelector("form.sign-out button")).click();
            b.await(Duration.ofSeconds(10), d -> b.path().equals("/sign-in"));
            signIn(b, GLOBEX_KEY);
            b.get("/jobs/" + id);
            assertThat(b.driver.findElement(By.tagName("h1")).getText()).contains("404");
            assertThat(b.driver.getPageSource()).doesNotContain("lora.safetensors");
            Object statusCode = b.asyncScript("const done = arguments[arguments.length - 1];"
                    + "fetch('/jobs/' + arguments[0]).then(r => done(r.status));", id);
            assertThat(((Number) statusCode).intValue()).isEqualTo(404);
            b.screenshot("not-found");
            assertAccessible(b, "404 page");
        }
    }

    /** Each step is one point of its strategy's dataset at (step, value), and there are no others. */
    @SuppressWarnings("unchecked")
    private static void assertChartMatches(Browser b, String chart, JsonNode metrics, String field, double scale) {
        List<Map<String, Object>> datasets = (List<Map<String, Object>>) b.script(
                "return window.selectuneCharts[arguments[0]].data.datasets.map(d => ({strategy: d.strategy,"
                        + " points: d.data.map(p => [p.x, p.y])}));", chart);
        int points = 0;
        for (Map<String, Object> d : datasets) {
            points += ((List<?>) d.get("points")).size();
        }
        assertThat(points).as(chart + " chart points").isEqualTo(metrics.size());
        for (JsonNode m : metrics) {
            Map<String, Object> dataset = datasets.stream()
                    .filter(d -> m.get("strategy").asString().equals(d.get("strategy"))).findFirst().orElseThrow();
            List<List<Number>> pts = (List<List<Number>>) dataset.get("points");
            assertThat(pts).as(chart + " step " + m.get("step")).anySatisfy(p -> {
                assertThat(p.get(0).intValue()).isEqualTo(m.get("step").asInt());
                assertThat(p.get(1).doubleValue() * scale).isCloseTo(m.get(field).asDouble(),
                        org.assertj.core.data.Offset.offset(1e-9 * Math.max(1, Math.abs(m.get(field).asDouble()))));
            });
        }
    }

    @SuppressWarnings("unchecked")
    private static void assertMemoryChart(Browser b, JsonNode metrics) {
        List<List<Number>> perStep = (List<List<Number>>) b.script(
                "return window.selectuneCharts.memory.data.datasets[0].data.map(p => [p.x, p.y]);");
        List<List<Number>> expected = new ArrayList<>();
        for (JsonNode m : metrics) {
            expected.add(List.of(m.get("step").asInt(), m.get("peak_bytes").asLong()));
        }
        assertThat(perStep).hasSize(expected.size());
        for (int i = 0; i < perStep.size(); i++) {
            assertThat(perStep.get(i).get(0).intValue()).isEqualTo(expected.get(i).get(0).intValue());
            assertThat(Math.round(perStep.get(i).get(1).doubleValue() * MIB)).isEqualTo(expected.get(i).get(1).longValue());
        }
        List<Number> peaks = (List<Number>) b.script("return window.selectuneCharts.memory.data.datasets.slice(1)"
                + ".map(d => d.data.length ? d.data[0].y : null);");
        assertThat(peaks).allSatisfy(p -> assertThat(p).isNotNull());
    }

    /** The shading's grid holds the trainer's own p(t, i) for the job's spec. */
    @SuppressWarnings("unchecked")
    private void assertShadingIsTheTrainersSchedule(Browser b, String id) throws Exception {
        Map<String, Object> curve = (Map<String, Object>) b.script(
                "return JSON.parse(document.getElementById('job-data').dataset.job).curve;");
        JsonNode job = json.readTree(mvc.perform(get("/v1/jobs/" + id).header("Authorization", "Bearer " + ACME_KEY))
                .andReturn().getResponse().getContentAsString());
        TrainingConfig config = json.treeToValue(job.get("spec"), JobSpec.class).check().config();
        StrategyChooser chooser = new StrategyChooser(config.schedule(), config.k(), config.tMid(), config.tMax(),
                config.steps());
        List<Number> progress = (List<Number>) curve.get("progress");
        List<Number> timesteps = (List<Number>) curve.get("timesteps");
        List<List<Number>> p = (List<List<Number>>) curve.get("p");
        assertThat(curve.get("schedule")).isEqualTo("random");
        for (int r = 0; r < timesteps.size(); r++) {
            for (int c = 0; c < progress.size(); c++) {
                assertThat(p.get(r).get(c).doubleValue())
                        .isEqualTo(chooser.pZo(progress.get(c).intValue(), timesteps.get(r).intValue()));
            }
        }
    }

    private String createQueuedJob() throws Exception {
        String spec = "{\"base_model\": \"tiny-sd15\", \"instance_prompt\": \"a photo of sks dog\", \"steps\": 3,"
                + " \"schedule\": \"bp_low\"}";
        String body = mvc.perform(org.springframework.test.web.servlet.request.MockMvcRequestBuilders.multipart("/v1/jobs")
                        .file(new org.springframework.mock.web.MockMultipartFile("images", "00.jpg", "image/jpeg",
                                java.nio.file.Files.readAllBytes(dogs().get(0))))
                        .part(new org.springframework.mock.web.MockPart("spec", null,
                                spec.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                                org.springframework.http.MediaType.APPLICATION_JSON))
                        .header("Authorization", "Bearer " + ACME_KEY))
                .andExpect(status().isCreated()).andReturn().getResponse().getContentAsString();
        return json.readTree(body).get("id").asString();
    }

    @Test
    void theNewJobFormChecksImagesFirstAndShowsTheApisProblemsByTheirFields() throws Exception {
        Integer before = jdbc.queryForObject("select count(*) from jobs", Integer.class);
        try (Browser b = Browser.open(port, 390, 844)) {
            signIn(b, ACME_KEY);
            b.get("/jobs/new");
            new Select(b.driver.findElement(By.id("f-base_model"))).selectByValue("tiny-sd15");
            b.driver.findElement(By.id("f-instance_prompt")).sendKeys("a photo of sks dog");
            // Refused in the browser: not an image.
            b.driver.findElement(By.id("f-images")).sendKeys(Path.of("examples/images/dog/README.md").toAbsolutePath()
                    .toString());
            b.await(Duration.ofSeconds(10), d -> !d.findElement(By.id("err-images")).getText().isEmpty());
            assertThat(b.driver.findElement(By.id("err-images")).getText()).contains("README.md")
                    .contains("not a PNG, JPEG or WebP");
            b.driver.findElement(By.id("submit")).click();
            assertThat(jdbc.queryForObject("select count(*) from jobs", Integer.class)).isEqualTo(before);

            // Refused by the API: the problem it names goes next to its field.
            b.script("document.getElementById('f-images').value = '';");
            b.driver.findElement(By.id("f-images")).sendKeys(dogs().get(0).toString());
            b.await(Duration.ofSeconds(10), d -> d.findElement(By.id("err-images")).getText().isEmpty());
            WebElement steps = b.driver.findElement(By.id("f-steps"));
            steps.clear();
            steps.sendKeys("0");
            b.driver.findElement(By.id("submit")).click();
            b.await(Duration.ofSeconds(20), d -> !d.findElement(By.id("err-steps")).getText().isEmpty());
            assertThat(b.driver.findElement(By.id("err-steps")).getText()).contains("between 1 and 100000");
            assertThat(b.driver.findElement(By.id("f-steps")).getDomAttribute("aria-invalid")).isEqualTo("true");
            assertThat(b.path()).isEqualTo("/jobs/new");
            assertThat(jdbc.queryForObject("select count(*) from jobs", Integer.class)).isEqualTo(before);
            b.screenshot("new-job-errors-phone");
            assertAccessible(b, "new job with errors");
        }
    }
}
