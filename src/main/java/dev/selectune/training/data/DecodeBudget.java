package dev.selectune.training.data;

import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Bounds the memory that concurrent image decodes may hold at once: each decode first reserves its estimated peak
 * bytes (see {@link CompleteDecode#estimateBytes}), waiting in arrival order while others hold the budget. A decode
 * estimated above the whole budget reserves all of it and so runs alone.
 */
public final class DecodeBudget {
    private static final DecodeBudget UNLIMITED = new DecodeBudget(Long.MAX_VALUE, Duration.ZERO);

    private final int totalKib;
    private final Semaphore kib;
    private final Duration wait;
    private final AtomicLong inUse = new AtomicLong();
    private final AtomicLong peak = new AtomicLong();

    /** No longer waited for: the caller should try again later (the API answers 503 with Retry-After). */
    public static final class Exhausted extends RuntimeException {
        private final Duration retryAfter;

        Exhausted(Duration retryAfter, String message) {
            super(message);
            this.retryAfter = retryAfter;
        }

        public Duration retryAfter() {
            return retryAfter;
        }
    }

    /**
     * @param bytes what all decodes together may hold
     * @param wait  how long a decode waits for its share before {@link Exhausted}
     */
    public DecodeBudget(long bytes, Duration wait) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("decode budget must be positive, got " + bytes);
        }
        this.totalKib = (int) Math.min(Integer.MAX_VALUE, Math.max(1, bytes >> 10));
        this.kib = new Semaphore(totalKib, true);
        this.wait = wait;
    }

    /** For a single decode at a time (the trainer, the CLI): no reservation. */
    public static DecodeBudget unlimited() {
        return UNLIMITED;
    }

    public <T> T run(long estimatedBytes, Supplier<T> decode) {
        if (this == UNLIMITED) {
            return decode.get();
        }
        int share = (int) Math.min(totalKib, Math.max(1, (estimatedBytes + 1023) >> 10));
        try {
            if (!kib.tryAcquire(share, wait.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new Exhausted(wait, "other uploads are decoding " + (inUse.get() >> 20)
                        + " MiB of images (the decode budget is " + (((long) totalKib) >> 10) + " MiB)");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Exhausted(wait, "interrupted while waiting for decode budget");
        }
        long bytes = ((long) share) << 10;
        peak.accumulateAndGet(inUse.addAndGet(bytes), Math::max);
        try {
            return decode.get();
        } finally {
            inUse.addAndGet(-bytes);
            kib.release(share);
        }
    }

    /** The most bytes reserved at once so far. */
    public long peakBytes() {
        return peak.get();
    }
}
