package dev.selectune.api;

import dev.selectune.config.SelectuneProperties;
import dev.selectune.jobs.RequestRejected;
import dev.selectune.training.data.BombImages;
import org.junit.jupiter.api.Test;
import org.springframework.mock.web.MockMultipartFile;
import org.springframework.web.multipart.MultipartFile;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Decompression bombs at the upload check: refused by their header, and unable to crowd out valid uploads. */
class ImageUploadBombsTest {
    private static final byte[] BOMB = BombImages.png16Rgba(8192, 8192);

    private static ImageUploads uploads(long decodeBudget) {
        return new ImageUploads(new SelectuneProperties(null, null, null, null, null, null,
                new SelectuneProperties.Uploads(0, 0, 0, 0, 0, 0, decodeBudget, Duration.ofSeconds(60)), null, null, null));
    }

    @Test
    void an8192SquareSixteenBitPngIs422NamingThePixelLimit() {
        assertThatThrownBy(() -> uploads(0).validate(List.of(file("bomb.png", BOMB))))
                .isInstanceOfSatisfying(RequestRejected.class, e -> {
                    assertThat(ProblemHandler.status(e)).isEqualTo(422);
                    assertThat(e.problems()).singleElement().satisfies(f -> {
                        assertThat(f.field()).isEqualTo("images[0]");
                        assertThat(f.message()).contains("'bomb.png'").contains("at most 50000000 pixels");
                    });
                });
    }

    /**
     * 12 bombs and 12 large-but-accepted 16-bit PNGs (4800 x 4800, 176 MiB each if decoded whole: 2.1 GB together)
     * at once, with valid photos among them, under a 48 MiB budget: every bomb is a 422, every other upload passes,
     * and the decodes never reserved more than the budget.
     */
    @Test
    void concurrentBombsNeitherExceedTheBudgetNorFailValidUploads() throws Exception {
        ImageUploads uploads = uploads(48L << 20);
        byte[] large = BombImages.png16Rgba(4800, 4800);
        List<Callable<Integer>> requests = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            requests.add(() -> status(uploads, file("bomb.png", BOMB)));
            requests.add(() -> status(uploads, file("large.png", large)));
            if (i % 3 == 0) {
                byte[] dog = TestImages.dog(i / 3);
                requests.add(() -> status(uploads, new MockMultipartFile("images", "dog.jpg", "image/jpeg", dog)));
            }
        }
        ExecutorService pool = Executors.newFixedThreadPool(requests.size());
        try {
            List<Integer> statuses = new ArrayList<>();
            for (Future<Integer> f : pool.invokeAll(requests)) {
                statuses.add(f.get());
            }
            assertThat(statuses.stream().filter(s -> s == 422)).hasSize(12);
            assertThat(statuses.stream().filter(s -> s == 201)).hasSize(requests.size() - 12);
        } finally {
            pool.shutdownNow();
        }
        assertThat(uploads.decodeBudget().peakBytes()).isLessThanOrEqualTo(48L << 20).isGreaterThan(0);
    }

    private static int status(ImageUploads uploads, MultipartFile file) {
        try {
            uploads.validate(List.of(file));
            return 201;
        } catch (RequestRejected e) {
            return ProblemHandler.status(e);
        }
    }

    private static MockMultipartFile file(String name, byte[] bytes) {
        return new MockMultipartFile("images", name, "image/png", bytes);
    }
}
