package dev.selectune.metrics;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The process resident set from {@code /proc/self/status} (Linux), which counts the native tensors the heap does not. */
public final class ProcessMemory {
    private static final Path STATUS = Path.of("/proc/self/status");

    private ProcessMemory() {
    }

    /** VmRSS in bytes, or NaN where /proc is missing (the gauge then shows no value rather than a wrong one). */
    public static double residentBytes() {
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024.0;
                }
            }
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
        return Double.NaN;
    }
}
