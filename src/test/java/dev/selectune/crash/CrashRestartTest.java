package dev.selectune.crash;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The service as a child JVM on its embedded PostgreSQL, killed and restarted: nothing it acknowledged is lost, a
 * postgres left by a killed JVM neither outlives it for long nor blocks the next start, and a SIGTERM puts the
 * running job back in the queue without charging an attempt.
 */
class CrashRestartTest {
    /** The bar: at least 20 kills right after acknowledged writes. */
    private static final int KILLS = 20;
    private static final int JOBS_PER_LIFE = 3;

    @TempDir
    Path tmp;

    @AfterEach
    void killLeftovers() throws Exception {
        ServiceProcess.cleanUp(tmp);
    }

    @Test
    void everyAcknowledgedWriteSurvivesKill9OfJavaAndPostgres() throws Exception {
        Path data = tmp.resolve("data");
        List<String> acknowledged = new ArrayList<>();
        ServiceProcess service = ServiceProcess.start(data, "--selectune.workers.enabled=false");
        String imageSet;
        try {
            imageSet = service.createImageSet(List.of(dog(0), dog(1)));
        } catch (AssertionError | Exception e) {
            service.killAll();
            throw e;
        }
        List<String> lost = new ArrayList<>();
        for (int kill = 1; kill <= KILLS; kill++) {
            try {
                for (int i = 0; i < JOBS_PER_LIFE; i++) {
                    HttpResponse<String> r = service.postJson("/v1/jobs", "{\"base_model\": \"tiny-sd15\","
                            + " \"image_set_id\": \"" + imageSet + "\", \"instance_prompt\": \"a photo of sks dog\","
                            + " \"steps\": 2, \"metadata\": {\"life\": \"" + kill + "\"}}");
                    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
                    acknowledged.add(ServiceProcess.field(r.body(), "id"));
                }
            } finally {
                // Right after the last 201: the commit must already be on disk.
                service.killAll();
            }
            service = ServiceProcess.start(data, "--selectune.workers.enabled=false");
            try {
                assertThat(service.get("/v1/image-sets/" + imageSet).statusCode()).isEqualTo(200);
                for (String id : acknowledged) {
                    int status = service.get("/v1/jobs/" + id).statusCode();
                    if (status != 200 && !lost.contains(id)) {
                        lost.add(id);
                    }
                }
            } catch (AssertionError | Exception e) {
                service.killAll();
                throw e;
            }
        }
        service.terminate(Duration.ofMinutes(2));
        assertThat(lost).as("acknowledged jobs lost after %d kills (of %d)", KILLS, acknowledged.size()).isEmpty();
    }

    @Test
    void aPostgresLeftRunningByAKilledJvmIsStoppedAtTheNextStart() throws Exception {
        Path data = tmp.resolve("data");
        ServiceProcess service = ServiceProcess.start(data, "--selectune.workers.enabled=false");
        String imageSet = createSetOrKill(service);
        long postmaster = service.postmasterPid().orElseThrow();
        // Without its watchdog the postmaster stays, reparented to init, holding the data directory.
        service.killJavaAndChildren();
        assertThat(ProcessHandle.of(postmaster).map(ProcessHandle::isAlive)).contains(true);

        service = ServiceProcess.start(data, "--selectune.workers.enabled=false");
        try {
            assertThat(ProcessHandle.of(postmaster).map(ProcessHandle::isAlive).orElse(false)).isFalse();
            assertThat(service.postmasterPid()).isPresent().isNotEqualTo(java.util.OptionalLong.of(postmaster));
            assertThat(service.get("/v1/image-sets/" + imageSet).statusCode()).isEqualTo(200);
        } finally {
            service.terminate(Duration.ofMinutes(2));
        }
    }

    @Test
    void postgresDoesNotOutliveAKilledJvm() throws Exception {
        Path data = tmp.resolve("data");
        ServiceProcess service = ServiceProcess.start(data, "--selectune.workers.enabled=false");
        long postmaster = service.postmasterPid().orElseThrow();
        service.killJava();
        boolean exited = ProcessHandle.of(postmaster)
                .map(p -> p.onExit().completeOnTimeout(p, 30, TimeUnit.SECONDS).join().isAlive())
                .map(alive -> !alive).orElse(true);
        if (!exited) {
            ProcessHandle.of(postmaster).ifPresent(ProcessHandle::destroyForcibly);
        }
        assertThat(exited).as("the postmaster %d exits within 30 s of its JVM's kill -9", postmaster).isTrue();
        assertThat(data.resolve("postgres/postmaster.pid")).as("a fast shutdown removes its pid file").doesNotExist();
    }

    @Test
    void sigtermReleasesTheRunningJobWithoutChargingAnAttempt() throws Exception {
        Path data = tmp.resolve("data");
        // A long lease: a job that is not released stays "running" for the whole test.
        ServiceProcess service = ServiceProcess.start(data, "--selectune.workers.lease=PT10M",
                "--selectune.workers.heartbeat=PT1S", "--selectune.workers.poll=PT0.2S");
        String job;
        try {
            String imageSet = service.createImageSet(List.of(dog(0), dog(1)));
            HttpResponse<String> r = service.postJson("/v1/jobs", "{\"base_model\": \"tiny-sd15\", \"image_set_id\": \""
                    + imageSet + "\", \"instance_prompt\": \"a photo of sks dog\", \"steps\": 1000,"
                    + " \"checkpoint_every\": 1000}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
            job = ServiceProcess.field(r.body(), "id");
            awaitStep(service, job);
        } catch (AssertionError | Exception e) {
            service.killAll();
            throw e;
        }
        service.terminate(Duration.ofMinutes(3));
        assertThat(hasFiles(data.resolve("work"))).as("the job's scratch folder after it ended here").isFalse();

        service = ServiceProcess.start(data, "--selectune.workers.enabled=false");
        try {
            String view = service.get("/v1/jobs/" + job).body();
            assertThat(ServiceProcess.field(view, "status")).as(view).isEqualTo("queued");
            assertThat(ServiceProcess.intField(view, "attempts")).as(view).isZero();
            String events = service.get("/v1/jobs/" + job + "/events").body();
            assertThat(events).contains("\"released\"").contains("checkpointed after step");
        } finally {
            service.terminate(Duration.ofMinutes(2));
        }
    }

    @Test
    void filesLeftByAKilledRunAreDeletedAtTheNextStart() throws Exception {
        Path data = tmp.resolve("data");
        Path uploads = data.resolve("uploads");
        Path scratch = data.resolve("work");
        ServiceProcess service = ServiceProcess.start(data, "--selectune.workers.enabled=false");
        Socket upload = new Socket("127.0.0.1", service.port());
        try {
            // An image upload killed halfway: 2 MB of a 64 MB part (above the 1 MB threshold, so Tomcat spools it).
            OutputStream out = upload.getOutputStream();
            String boundary = "killed";
            out.write(("POST /v1/image-sets HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + ServiceProcess.KEY
                    + "\r\nContent-Type: multipart/form-data; boundary=" + boundary + "\r\nContent-Length: "
                    + (64 << 20) + "\r\n\r\n--" + boundary + "\r\nContent-Disposition: form-data; name=\"images\";"
                    + " filename=\"big.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(new byte[2 << 20]);
            out.flush();
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            while (!hasFiles(uploads)) {
                assertThat(System.nanoTime()).as("an upload temp file in %s", uploads).isLessThan(deadline);
                Thread.sleep(100);
            }
            // And the scratch folder of a job that was running.
            Files.createDirectories(scratch.resolve("job_killed-replica-cpu/checkpoint"));
            Files.write(scratch.resolve("job_killed-replica-cpu/checkpoint/lora.safetensors"), new byte[100]);
        } finally {
            // With the upload still open: a closed connection would let Tomcat delete its temp file itself.
            service.killAll();
            upload.close();
        }
        assertThat(hasFiles(uploads)).as("the killed upload's temp file").isTrue();
        service = ServiceProcess.start(data, "--selectune.workers.enabled=false");
        try {
            assertThat(hasFiles(uploads)).as("upload temp files after the restart").isFalse();
            assertThat(hasFiles(scratch)).as("job scratch folders after the restart").isFalse();
        } finally {
            service.terminate(Duration.ofMinutes(2));
        }
    }

    private static boolean hasFiles(Path dir) throws Exception {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (var list = Files.list(dir)) {
            return list.findAny().isPresent();
        }
    }

    private static void awaitStep(ServiceProcess service, String job) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(4);
        while (System.nanoTime() < deadline) {
            String view = service.get("/v1/jobs/" + job).body();
            if (ServiceProcess.field(view, "status").equals("running") && ServiceProcess.intField(view, "step") >= 1) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("job " + job + " did not start training:\n" + service.logTail());
    }

    private static String createSetOrKill(ServiceProcess service) throws Exception {
        try {
            return service.createImageSet(List.of(dog(0), dog(1)));
        } catch (AssertionError | Exception e) {
            service.killAll();
            throw e;
        }
    }

    private static byte[] dog(int i) throws Exception {
        return Files.readAllBytes(Path.of("examples/images/dog/0" + i + ".jpg"));
    }
}
