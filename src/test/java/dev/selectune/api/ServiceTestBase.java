package dev.selectune.api;

import com.atlassian.oai.validator.mockmvc.OpenApiValidationMatchers;
import dev.selectune.jobs.WorkerPool;
import com.atlassian.oai.validator.OpenApiInteractionValidator;
import com.atlassian.oai.validator.report.LevelResolver;
import com.atlassian.oai.validator.report.ValidationReport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.webmvc.test.autoconfigure.AutoConfigureMockMvc;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.MvcResult;
import org.springframework.test.web.servlet.ResultMatcher;

import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.postgresql.PostgreSQLContainer;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One Spring context for every service test class (same configuration, so Spring's context cache shares it): a
 * real PostgreSQL (Testcontainers when a Docker engine answers, else the embedded zonky default of the service
 * itself), the tiny SD 1.5 pipeline as the only model, one CPU worker with short leases, two tenants' keys. Tomcat
 * listens on a random port too, for tests of what happens before Spring MVC (FuzzRequestsTest); MockMvc still serves
 * the others.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "selectune.models=tiny-sd15=src/test/resources/golden/tiny-sd15",
        "selectune.eval-models=clip=src/test/resources/golden-eval/tiny-clip,dino=src/test/resources/golden-eval/tiny-dino",
        "selectune.devices=cpu",
        "selectune.api-keys=acme:" + ServiceTestBase.ACME_KEY + ",globex:" + ServiceTestBase.GLOBEX_KEY,
        "selectune.workers.lease=PT3S",
        "selectune.workers.heartbeat=PT0.5S",
        "selectune.workers.poll=PT0.2S",
        "selectune.uploads.max-images=6",
        "selectune.uploads.max-file-bytes=400000",
        "selectune.uploads.max-request-bytes=1000000",
        "logging.level.io.zonky=WARN",
        // Webhook tests use a receiver on 127.0.0.1 and want retries and lease take-overs within seconds.
        "selectune.webhooks.allow-insecure-targets=true",
        "selectune.webhooks.poll=PT0.1S",
        "selectune.webhooks.retry-base=PT0.2S",
        "selectune.webhooks.connect-timeout=PT1S",
        "selectune.webhooks.read-timeout=PT1S",
        "selectune.webhooks.lease=PT4S",
        "selectune.webhooks.progress-interval=PT1S",
})
@AutoConfigureMockMvc
public abstract class ServiceTestBase {
    public static final String ACME_KEY = "st_test_acme_0123456789abcdef";
    public static final String GLOBEX_KEY = "st_test_globex_0123456789abcdef";
    static final String ACME = "Bearer " + ACME_KEY;
    static final String GLOBEX = "Bearer " + GLOBEX_KEY;

    private static final Path DATA_DIR = tempDir();
    private static PostgreSQLContainer postgres;

    @Autowired
    protected MockMvc mvc;
    @Autowired
    protected JdbcTemplate jdbc;
    @Autowired
    protected WorkerPool workers;

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) {
        registry.add("selectune.data-dir", DATA_DIR::toString);
        if (dockerAvailable()) {
            synchronized (ServiceTestBase.class) {
                if (postgres == null) {
                    postgres = new PostgreSQLContainer("postgres:17-alpine");
                    postgres.start();
                }
            }
            registry.add("spring.datasource.url", postgres::getJdbcUrl);
            registry.add("spring.datasource.username", postgres::getUsername);
            registry.add("spring.datasource.password", postgres::getPassword);
        }
    }

    /**
     * Tests start with the worker not claiming, so queued jobs stay queued until a test lets them run
     * ({@link WorkerPool#resumeClaims()}); jobs a test left queued are cancelled so they never run later.
     */
    @BeforeEach
    void pauseWorker() {
        workers.pauseClaims();
    }

    @AfterEach
    void cancelLeftovers() {
        jdbc.update("update jobs set status = 'cancelled', finished_at = now() where status = 'queued'");
        jdbc.update("update generations set status = 'cancelled', finished_at = now() where status = 'queued'");
        workers.resumeClaims();
    }

    private static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (Throwable e) {
            return false;
        }
    }

    private static Path tempDir() {
        try {
            return Files.createTempDirectory("selectune-test");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Validates the response (status, headers, body) against openapi.yaml. */
    /** Polls tenant acme's job until it is {@code wanted}; fails when it ends otherwise or {@code timeout} passes. */
    protected JsonNode awaitStatus(String id, String wanted, Duration timeout) throws Exception {
        JsonMapper json = JsonMapper.builder().build();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            MvcResult r = mvc.perform(get("/v1/jobs/" + id).header("Authorization", ACME))
                    .andExpect(status().isOk()).andExpect(matchesOpenApi()).andReturn();
            JsonNode job = json.readTree(r.getResponse().getContentAsString());
            String status = job.get("status").asString();
            if (status.equals(wanted)) {
                return job;
            }
            if (List.of("succeeded", "failed", "cancelled").contains(status) || System.nanoTime() > deadline) {
                throw new AssertionError("job " + id + " is " + status + ", expected " + wanted + ": " + job);
            }
            Thread.sleep(200);
        }
    }

    /** Waits until {@code condition} holds; fails when {@code timeout} passes first. */
    protected static void await(BooleanSupplier condition, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met in " + timeout);
            }
            Thread.sleep(50);
        }
    }

    protected static ResultMatcher matchesOpenApi() {
        return OpenApiValidationMatchers.openApi().isValid(VALIDATOR);
    }

    /** Responses only: the bad-input tests send invalid requests on purpose. */
    private static final OpenApiInteractionValidator VALIDATOR = OpenApiInteractionValidator
            .createForSpecificationUrl(Path.of("openapi.yaml").toAbsolutePath().toUri().toString())
            .withLevelResolver(LevelResolver.create().withLevel("validation.request", ValidationReport.Level.IGNORE)
                    .build())
            .build();
}
