package dev.selectune.training;

/**
 * The paper's Table 1 for one job: the peak memory of its BP steps, of its ZO steps, and the job's peak (the
 * larger). A strategy that never ran reports 0.
 *
 * @param device     where the job ran, e.g. {@code cpu()} or {@code gpu(0)}
 * @param measuredAs what the numbers are, e.g. "process resident set high-water mark (VmHWM), reset before each
 *                   step; includes the loaded UNet, LoRA, optimizer state and the JVM" or "CUDA memory allocated"
 */
public record MemorySummary(long bpPeakBytes, long zoPeakBytes, long peakBytes, String device, String measuredAs) {
    public static MemorySummary of(long bpPeak, long zoPeak, String device, String measuredAs) {
        return new MemorySummary(bpPeak, zoPeak, Math.max(bpPeak, zoPeak), device, measuredAs);
    }
}
