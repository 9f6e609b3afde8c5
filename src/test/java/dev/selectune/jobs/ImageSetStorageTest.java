package dev.selectune.jobs;

import dev.selectune.api.ServiceTestBase;
import dev.selectune.api.TestImages;
import dev.selectune.config.EvaluatorRegistry;
import dev.selectune.config.ModelRegistry;
import dev.selectune.config.SelectuneProperties;
import dev.selectune.storage.BlobStore;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.json.JsonMapper;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A blob store outside the database transaction (S3) must not keep the objects of an image set whose transaction
 * rolled back. The service's default store lives in PostgreSQL and rolls back by itself, so this uses a plain
 * in-memory store, as S3 behaves.
 */
class ImageSetStorageTest extends ServiceTestBase {
    @Autowired
    private JobRepository jobs;
    @Autowired
    private ImageSetRepository imageSets;
    @Autowired
    private ImageRecordRepository images;
    @Autowired
    private JobQueue queue;
    @Autowired
    private ModelRegistry models;
    @Autowired
    private SelectuneProperties props;
    @Autowired
    private JsonMapper json;
    @Autowired
    private TransactionTemplate tx;
    @Autowired
    private dev.selectune.webhooks.Webhooks webhooks;

    @Test
    void aRolledBackImageSetLeavesNoObjectsAndACommittedOneKeepsThem() {
        MemoryBlobStore blobs = new MemoryBlobStore();
        JobService service = new JobService(jobs, imageSets, images, queue, blobs, models, props, json, tx,
                new EvaluatorRegistry(props), workers, webhooks);
        List<NewImage> upload = List.of(TestImages.newImage(0));

        String rolledBack = tx.execute(status -> {
            String id = service.createImageSet("acme", upload).getId();
            assertThat(blobs.get("image-sets/" + id + "/0")).isPresent();
            status.setRollbackOnly();
            return id;
        });
        assertThat(blobs.objects).isEmpty();
        assertThat(jdbc.queryForObject("select count(*) from image_sets where id = ?", Long.class, rolledBack))
                .isZero();

        String committed = tx.execute(status -> service.createImageSet("acme", upload).getId());
        assertThat(blobs.objects).containsOnlyKeys("image-sets/" + committed + "/0");
    }

    /** Not transactional, like S3. */
    private static final class MemoryBlobStore implements BlobStore {
        final Map<String, byte[]> objects = new ConcurrentHashMap<>();

        @Override
        public void put(String key, byte[] data) {
            objects.put(key, data.clone());
        }

        @Override
        public Optional<byte[]> get(String key) {
            return Optional.ofNullable(objects.get(key));
        }

        @Override
        public void delete(String key) {
            objects.remove(key);
        }

        @Override
        public void deletePrefix(String prefix) {
            objects.keySet().removeIf(k -> k.startsWith(prefix));
        }
    }
}
