package dev.selectune.api;

import com.jayway.jsonpath.JsonPath;
import dev.selectune.config.EvaluatorRegistry;
import dev.selectune.config.ModelRegistry;
import dev.selectune.config.SelectuneProperties;
import dev.selectune.jobs.ImageRecordRepository;
import dev.selectune.jobs.ImageSetRepository;
import dev.selectune.jobs.JobQueue;
import dev.selectune.jobs.JobRepository;
import dev.selectune.jobs.JobService;
import dev.selectune.jobs.JobSpec;
import dev.selectune.jobs.RequestRejected;
import dev.selectune.storage.BlobStore;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.MediaType;
import org.springframework.mock.web.MockPart;
import org.springframework.test.web.servlet.MvcResult;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.not;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.multipart;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.jsonPath;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

/**
 * Jobs that ask for evaluation, on the tiny SD 1.5 pipeline with the golden-eval tiny CLIP and DINO as evaluators:
 * both rows of scores on the job, evaluation.json and the contact sheet as artifacts, the gauges; a cancellation
 * during the evaluation keeps the LoRA; a service without evaluators refuses such a job before storing anything.
 */
class EvaluationFlowTest extends ServiceTestBase {
    private static final Duration JOB_TIMEOUT = Duration.ofMinutes(4);

    @Autowired
    JsonMapper json;
    @Autowired
    JobRepository jobs;
    @Autowired
    ImageSetRepository imageSets;
    @Autowired
    ImageRecordRepository images;
    @Autowired
    JobQueue queue;
    @Autowired
    BlobStore blobs;
    @Autowired
    ModelRegistry models;
    @Autowired
    TransactionTemplate tx;
    @Autowired
    dev.selectune.webhooks.Webhooks webhooks;

    @Test
    void aDreamBoothEvaluationScoresTheLoraAndTheBaseModel() throws Exception {
        mvc.perform(get("/v1/models").header("Authorization", ACME)).andExpect(status().isOk())
                .andExpect(matchesOpenApi())
                .andExpect(jsonPath("$.evaluators[*].id", hasItem("clip")))
                .andExpect(jsonPath("$.evaluators[*].id", hasItem("dino")));
        String id = createJob(spec("\"prompts\": \"dreambooth\", \"identifier\": \"sks\", \"class_noun\": \"dog\","
                + " \"images_per_prompt\": 1, \"steps\": 1, \"guidance\": 1, \"size\": 32"));
        workers.resumeClaims();
        JsonNode job = awaitStatus(id, "succeeded");
        for (String row : List.of("", "/baseline")) {
            for (String metric : List.of("dino", "clip_i", "clip_t")) {
                assertThat(job.at("/evaluation" + row + "/" + metric).asDouble()).as(row + metric).isBetween(-1.0, 1.0);
            }
        }
        assertThat(job.at("/evaluation/seconds").asDouble()).isPositive();
        assertThat(job.at("/spec/evaluation/images_per_prompt").asInt()).isEqualTo(1);

        mvc.perform(get("/v1/jobs/" + id + "/artifacts").header("Authorization", ACME))
                .andExpect(status().isOk()).andExpect(matchesOpenApi())
                .andExpect(jsonPath("$.data[*].name", hasItem("evaluation.json")))
                .andExpect(jsonPath("$.data[*].name", hasItem("contact-sheet.png")))
                .andExpect(jsonPath("$.data[*].name", hasItem("lora.safetensors")));
        JsonNode report = json.readTree(mvc.perform(get("/v1/jobs/" + id + "/artifacts/evaluation.json")
                .header("Authorization", ACME)).andExpect(status().isOk()).andReturn().getResponse().getContentAsString());
        assertThat(report.get("per_prompt").size()).isEqualTo(25);
        assertThat(report.at("/per_prompt/10/prompt").asString()).isEqualTo("a sks dog wearing a red hat");
        assertThat(report.at("/per_prompt/10/lora/dino").isNumber()).isTrue();
        assertThat(report.at("/per_prompt/10/base/clip_t").isNumber()).isTrue();
        assertThat(report.at("/dino").asDouble()).isEqualTo(job.at("/evaluation/dino").asDouble());
        assertThat(report.at("/baseline/clip_i").asDouble()).isEqualTo(job.at("/evaluation/baseline/clip_i").asDouble());

        byte[] png = mvc.perform(get("/v1/jobs/" + id + "/artifacts/contact-sheet.png").header("Authorization", ACME))
                .andExpect(status().isOk()).andReturn().getResponse().getContentAsByteArray();
        BufferedImage sheet = ImageIO.read(new ByteArrayInputStream(png));
        assertThat(sheet.getHeight()).isEqualTo(25 * 32 + 26 * 2); // a row per prompt
        assertThat(sheet.getWidth()).isEqualTo(2 * 32 + 12 + 2 * 2); // LoRA | base

        assertThat(jdbc.queryForList("select type from job_events where job_id = ? order by id", String.class, id))
                .containsSubsequence("claimed", "evaluating", "evaluated", "succeeded");
        String prometheus = mvc.perform(get("/actuator/prometheus")).andReturn().getResponse().getContentAsString();
        for (String metric : List.of("dino", "clip_i", "clip_t")) {
            for (String row : List.of("lora", "base")) {
                assertThat(prometheus).contains("selectune_evaluation_score{base_model=\"tiny-sd15\",metric=\""
                        + metric + "\",model=\"" + row + "\"}");
            }
        }
        assertThat(prometheus).contains("selectune_evaluation_duration_seconds_count");
    }

    @Test
    void cancellingDuringTheEvaluationKeepsTheTrainedLora() throws Exception {
        String id = createJob(spec("\"prompts\": \"dreambooth\", \"identifier\": \"sks\", \"class_noun\": \"dog\","
                + " \"images_per_prompt\": 4, \"steps\": 5, \"size\": 32"));
        workers.resumeClaims();
        await(() -> jdbc.queryForObject("select count(*) from job_events where job_id = ? and type = 'evaluating'",
                Integer.class, id) > 0);
        mvc.perform(post("/v1/jobs/" + id + "/cancel").header("Authorization", ACME)).andExpect(status().isAccepted());
        JsonNode job = awaitStatus(id, "cancelled");
        assertThat(job.at("/progress/step").asInt()).isEqualTo(2);
        assertThat(job.get("evaluation").isNull()).isTrue();
        mvc.perform(get("/v1/jobs/" + id + "/artifacts").header("Authorization", ACME))
                .andExpect(status().isOk())
                .andExpect(jsonPath("$.data[*].name", hasItem("lora.safetensors")))
                .andExpect(jsonPath("$.data[*].name", not(hasItem("evaluation.json"))));
        assertThat(jdbc.queryForList("select message from job_events where job_id = ? and type = 'cancelled'",
                String.class, id)).singleElement().asString().contains("during the evaluation");
    }

    @Test
    void anEvaluationWithoutItsIdentifierNamesTheField() throws Exception {
        mvc.perform(multipart("/v1/jobs").file(TestImages.dogPart(0))
                        .part(new MockPart("spec", null, spec("\"prompts\": \"dreambooth\", \"class_noun\": \"dog\"")
                                .getBytes(StandardCharsets.UTF_8), MediaType.APPLICATION_JSON))
                        .header("Authorization", ACME))
                .andExpect(status().isUnprocessableContent())
                .andExpect(jsonPath("$.errors[*].field", hasItem("evaluation.identifier")));
    }

    @Test
    void aServiceWithoutEvaluatorsRefusesAnEvaluationBeforeStoringAnything() {
        SelectuneProperties none = new SelectuneProperties(null, null, null, null, null, null, null, null, null, null);
        JobService service = new JobService(jobs, imageSets, images, queue, blobs, models, none, json, tx,
                new EvaluatorRegistry(none), workers, webhooks);
        JobSpec spec = json.readValue(spec("\"prompts\": [\"a sks dog\"]"), JobSpec.class);
        long jobsBefore = jobs.count();
        long setsBefore = imageSets.count();
        assertThatThrownBy(() -> service.createJob("acme", spec, null, List.of(TestImages.newImage(0))))
                .isInstanceOfSatisfying(RequestRejected.class, e -> {
                    assertThat(ProblemHandler.status(e)).isEqualTo(422);
                    assertThat(e.problems()).anySatisfy(f -> {
                        assertThat(f.field()).isEqualTo("evaluation");
                        assertThat(f.message()).contains("no evaluator models");
                    });
                });
        assertThat(jobs.count()).isEqualTo(jobsBefore);
        assertThat(imageSets.count()).isEqualTo(setsBefore);
    }

    private static String spec(String evaluation) {
        return "{\"base_model\": \"tiny-sd15\", \"instance_prompt\": \"a photo of sks dog\", \"steps\": 2,"
                + " \"schedule\": \"bp_low\", \"seed\": 1, \"evaluation\": {" + evaluation + "}}";
    }

    private String createJob(String spec) throws Exception {
        MvcResult r = mvc.perform(multipart("/v1/jobs").file(TestImages.dogPart(0)).file(TestImages.dogPart(1))
                        .part(new MockPart("spec", null, spec.getBytes(StandardCharsets.UTF_8),
                                MediaType.APPLICATION_JSON))
                        .header("Authorization", ACME))
                .andExpect(status().isCreated()).andExpect(matchesOpenApi()).andReturn();
        return JsonPath.read(r.getResponse().getContentAsString(), "$.id");
    }

    private JsonNode awaitStatus(String id, String wanted) throws Exception {
        return awaitStatus(id, wanted, JOB_TIMEOUT);
    }

    private static void await(java.util.function.BooleanSupplier condition) throws InterruptedException {
        await(condition, JOB_TIMEOUT);
    }
}
