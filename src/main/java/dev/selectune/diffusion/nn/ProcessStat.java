package dev.selectune.diffusion.nn;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process's counters from {@code /proc/self/stat}: user and system CPU time in clock ticks (all threads) and
 * the minor page faults. Kernel time and faults are how fresh memory shows: every page a tensor touches for the
 * first time is a fault, and on a virtual machine a fault can cost far more than the op that caused it.
 * All zero where there is no {@code /proc} (not Linux).
 */
public record ProcessStat(long userTicks, long systemTicks, long minorFaults) {
    private static final Path STAT = Path.of("/proc/self/stat");

    /** Clock ticks per second of {@code /proc} times (USER_HZ, 100 on Linux). */
    public static final int TICKS_PER_SECOND = 100;

    public static ProcessStat read() {
        try {
            String stat = Files.readString(STAT);
            // After the command name (which may hold spaces) the fields start at field 3 (state): minflt is field
            // 10, utime 14 and stime 15.
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return new ProcessStat(Long.parseLong(f[11]), Long.parseLong(f[12]), Long.parseLong(f[7]));
        } catch (IOException | RuntimeException e) {
            return new ProcessStat(0, 0, 0);
        }
    }

    public long cpuTicks() {
        return userTicks + systemTicks;
    }

    /** The kernel's CPU time in seconds: where page faults are paid. */
    public double systemSeconds() {
        return systemTicks / (double) TICKS_PER_SECOND;
    }

    /** The counters accrued since {@code earlier}. */
    public ProcessStat since(ProcessStat earlier) {
        return new ProcessStat(userTicks - earlier.userTicks, systemTicks - earlier.systemTicks,
                minorFaults - earlier.minorFaults);
    }
}
