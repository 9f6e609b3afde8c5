package dev.selectune.training.memory;

import ai.djl.Device;
import ai.djl.util.cuda.CudaUtils;

import java.io.IOException;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Measures the memory of one phase (a step, a forward): call {@link #reset()} before it and {@link #read()} after.
 *
 * <p>On the CPU the numbers are the whole process's resident set from {@code /proc/self/status}: {@code VmHWM} (its
 * high-water mark since the last reset; {@link #reset()} writes "5" to {@code /proc/self/clear_refs}) and
 * {@code VmRSS} (now). They include everything resident: the loaded weights, libtorch's native buffers and
 * allocator caches, the JVM heap pages touched so far, code and shared libraries, and resident pages of mapped
 * files. A phase's own cost is therefore {@code peak - baseline}, with the baseline read after the model loaded.
 *
 * <p>On a GPU the numbers are the device's used memory as CUDA reports it (total minus free, all processes, including
 * the caching allocator's reserve). CUDA has no resettable high-water mark through DJL, so {@code peak} is the
 * largest value {@link #read()} and {@link #sample()} have seen since the last reset.
 */
public final class MemoryProbe {
    private static final Path STATUS = Path.of("/proc/self/status");
    private static final Path CLEAR_REFS = Path.of("/proc/self/clear_refs");

    private final Device device;
    private long gpuPeak;

    private MemoryProbe(Device device) {
        this.device = device;
    }

    public static MemoryProbe forDevice(Device device) {
        return new MemoryProbe(device);
    }

    public static MemoryProbe cpu() {
        return new MemoryProbe(Device.cpu());
    }

    /**
     * @param currentBytes resident (CPU) or used (GPU) bytes now
     * @param peakBytes    the high-water mark since the last {@link #reset()}
     */
    public record Reading(long currentBytes, long peakBytes) {
    }

    public boolean isGpu() {
        return device.isGpu();
    }

    /** What the numbers include, for reports and {@code MemorySummary.measuredAs}. */
    public String describe() {
        return device.isGpu()
                ? "CUDA device memory used (total - free, whole device incl. the caching allocator), peak of samples"
                : "process resident set (VmHWM high-water mark reset via /proc/self/clear_refs; includes weights, "
                        + "libtorch buffers, JVM heap and code)";
    }

    /** Starts a new phase: the high-water mark becomes the current value. */
    public void reset() {
        if (device.isGpu()) {
            gpuPeak = gpuUsed();
            return;
        }
        try {
            Files.writeString(CLEAR_REFS, "5");
        } catch (IOException e) {
            throw new IllegalStateException("cannot reset the resident-set peak via " + CLEAR_REFS + ": " + e.getMessage(), e);
        }
    }

    /** Records a GPU sample for the peak (no-op on the CPU, where the kernel keeps the high-water mark). */
    public void sample() {
        if (device.isGpu()) {
            gpuPeak = Math.max(gpuPeak, gpuUsed());
        }
    }

    public Reading read() {
        if (device.isGpu()) {
            long used = gpuUsed();
            gpuPeak = Math.max(gpuPeak, used);
            return new Reading(used, gpuPeak);
        }
        try {
            long rss = -1;
            long hwm = -1;
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith("VmRSS:")) {
                    rss = kilobytes(line);
                } else if (line.startsWith("VmHWM:")) {
                    hwm = kilobytes(line);
                }
            }
            if (rss < 0 || hwm < 0) {
                throw new IllegalStateException(STATUS + " has no VmRSS/VmHWM");
            }
            return new Reading(rss * 1024, hwm * 1024);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + STATUS + ": " + e.getMessage(), e);
        }
    }

    private long gpuUsed() {
        MemoryUsage usage = CudaUtils.getGpuMemory(device);
        return usage.getUsed();
    }

    private static long kilobytes(String line) {
        String[] parts = line.trim().split("\\s+");
        return Long.parseLong(parts[1]);
    }
}
