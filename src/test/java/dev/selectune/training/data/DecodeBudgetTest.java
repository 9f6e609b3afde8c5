package dev.selectune.training.data;

import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Decode memory: a per-image pixel limit from the header, subsampled decodes, and one budget for all of them. */
class DecodeBudgetTest {

    @Test
    void an8192SquareSixteenBitPngIsRefusedFromItsHeaderNamingTheLimit() {
        byte[] bomb = BombImages.png16Rgba(8192, 8192);
        assertThat(bomb.length).isBetween(400_000, 600_000);
        assertThatThrownBy(() -> ImageProbe.probeAndDecode(bomb, 8192, 50_000_000, DecodeBudget.unlimited()))
                .isInstanceOf(ImageProbe.InvalidImageException.class)
                .hasMessageContaining("8192x8192 px = 67108864 pixels; at most 50000000 pixels");
    }

    /**
     * A 5000 x 5000 16-bit RGBA PNG (200 MB of pixels) passes the limits; its check keeps every 5th pixel, and the
     * heap the decoding thread allocates stays within the estimate that the budget reserves.
     */
    @Test
    void theCheckDecodesSubsampledWithinItsEstimate() {
        byte[] big = BombImages.png16Rgba(5000, 5000);
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        DecodeBudget budget = new DecodeBudget(64L << 20, Duration.ofSeconds(30));
        long before = threads.getCurrentThreadAllocatedBytes();
        assertThat(ImageProbe.probeAndDecode(big, 8192, 50_000_000, budget).width()).isEqualTo(5000);
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        long estimate = CompleteDecode.estimateBytes("png", 5000, 5000, 5, 8, false);
        assertThat(allocated).isLessThan(estimate);
        assertThat(estimate).isLessThan(40L << 20);
        assertThat(budget.peakBytes()).isBetween(estimate, estimate + 1024);
    }

    @Test
    void aDecodeThatFindsNoBudgetInTimeIsExhausted() throws Exception {
        DecodeBudget budget = new DecodeBudget(1 << 20, Duration.ofMillis(200));
        CountDownLatch holding = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Thread holder = new Thread(() -> budget.run(1 << 20, () -> {
            holding.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return null;
        }));
        holder.start();
        holding.await();
        assertThatThrownBy(() -> budget.run(1000, () -> "never"))
                .isInstanceOfSatisfying(DecodeBudget.Exhausted.class,
                        e -> assertThat(e.retryAfter()).isEqualTo(Duration.ofMillis(200)))
                .hasMessageContaining("decode budget is 1 MiB");
        release.countDown();
        holder.join();
        assertThat(budget.run(1000, () -> "now")).isEqualTo("now");
        assertThat(budget.peakBytes()).isEqualTo(1 << 20);
    }

    @Test
    void estimatesCountProgressiveJpegCoefficientsAndTheSubsampledRaster() throws java.io.IOException {
        assertThat(CompleteDecode.estimateBytes("jpeg", 4000, 3000, 1, 3, true))
                .isGreaterThan(4000L * 3000 * 3 * 2);
        assertThat(CompleteDecode.estimateBytes("png", 8000, 8000, 8, 8, false)).isLessThan(20L << 20);
        byte[] dog = java.nio.file.Files.readAllBytes(java.nio.file.Path.of("examples/images/dog/00.jpg"));
        assertThat(CompleteDecode.progressiveJpeg(dog)).isFalse();
    }
}
