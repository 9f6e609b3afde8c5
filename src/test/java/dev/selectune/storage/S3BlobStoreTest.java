package dev.selectune.storage;

import org.gaul.s3proxy.junit.S3ProxyExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The S3 blob store against an in-process S3 server (s3proxy on jclouds' transient store), path-style. */
class S3BlobStoreTest {
    @RegisterExtension
    static final S3ProxyExtension S3 = S3ProxyExtension.builder().withCredentials("access", "secret").build();

    private S3BlobStore store;

    @BeforeEach
    void bucket() {
        store = S3BlobStore.create(S3.getUri().toString(), "us-east-1", S3.getAccessKey(), S3.getSecretKey(),
                "selectune", "prod/");
        store.createBucketIfMissing();
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Test
    void storesReplacesReadsAndDeletes() {
        byte[] lora = new byte[300_000];
        new Random(3).nextBytes(lora);
        store.put("jobs/job_a/artifacts/lora.safetensors", lora);
        assertThat(store.get("jobs/job_a/artifacts/lora.safetensors")).hasValueSatisfying(b -> assertThat(b).isEqualTo(lora));
        store.put("jobs/job_a/artifacts/lora.safetensors", new byte[] {1, 2, 3});
        assertThat(store.get("jobs/job_a/artifacts/lora.safetensors")).hasValueSatisfying(b ->
                assertThat(b).containsExactly(1, 2, 3));
        assertThat(store.get("jobs/job_a/missing")).isEmpty();
        store.delete("jobs/job_a/artifacts/lora.safetensors");
        assertThat(store.get("jobs/job_a/artifacts/lora.safetensors")).isEmpty();
    }

    @Test
    void deletesByPrefixOnlyUnderThatPrefix() {
        store.put("image-sets/s1/0", new byte[] {1});
        store.put("image-sets/s1/1", new byte[] {2});
        store.put("image-sets/s10/0", new byte[] {3});
        store.deletePrefix("image-sets/s1/");
        assertThat(store.get("image-sets/s1/0")).isEmpty();
        assertThat(store.get("image-sets/s1/1")).isEmpty();
        assertThat(store.get("image-sets/s10/0")).isPresent();
    }
}
