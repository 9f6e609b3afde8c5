package dev.selectune.diffusion.nn;

import java.util.EnumMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Time by op kind, for {@code bench unet --profile}: wall time and process CPU time (all threads, libtorch's
 * OpenMP workers included) spent in each kind of op, so that cores busy = CPU time / wall time shows which kinds
 * leave a core idle. Off by default; when off, {@link #time} is one static field read and the call.
 *
 * <p>Times are exclusive: an op timed inside another (the linears inside an attention block) counts for its own
 * kind only. CPU time comes from {@link ProcessStat} (utime + stime, in clock ticks of usually 10 ms), read
 * around each op; single short ops are below its resolution, but the sums over a forward's thousands of ops are
 * not. Everything outside a timed op (element-wise glue, reshapes, scopes) is what a caller reports as "other".
 * Profiling is for one thread at a time.
 */
public final class OpProfile {
    /** The op kinds the model code reports. */
    public enum Kind { CONVOLUTION, LINEAR, ATTENTION, NORMALIZATION, ELEMENTWISE, COPIES }

    private static volatile boolean enabled;
    private static final Map<Kind, long[]> TOTALS = new EnumMap<>(Kind.class);
    /** Wall and CPU time of the ops nested in the one running, to subtract from it. */
    private static long nestedWall;
    private static long nestedTicks;

    private OpProfile() {
    }

    public static boolean isEnabled() {
        return enabled;
    }

    /** Starts collecting from zero. */
    public static synchronized void start() {
        TOTALS.clear();
        nestedWall = 0;
        nestedTicks = 0;
        enabled = true;
    }

    /** Stops collecting; returns per kind {wall nanos, CPU clock ticks, calls}. */
    public static synchronized Map<Kind, long[]> stop() {
        enabled = false;
        Map<Kind, long[]> out = new EnumMap<>(Kind.class);
        TOTALS.forEach((k, v) -> out.put(k, v.clone()));
        return out;
    }

    /** Runs {@code op}, charging its exclusive time to {@code kind} while profiling. */
    public static <T> T time(Kind kind, Supplier<T> op) {
        if (!enabled) {
            return op.get();
        }
        long outerWall = nestedWall;
        long outerTicks = nestedTicks;
        nestedWall = 0;
        nestedTicks = 0;
        long ticks0 = ProcessStat.read().cpuTicks();
        long wall0 = System.nanoTime();
        try {
            return op.get();
        } finally {
            long wall = System.nanoTime() - wall0;
            long ticks = ProcessStat.read().cpuTicks() - ticks0;
            long[] t = TOTALS.computeIfAbsent(kind, k -> new long[3]);
            t[0] += wall - nestedWall;
            t[1] += ticks - nestedTicks;
            t[2]++;
            nestedWall = outerWall + wall;
            nestedTicks = outerTicks + ticks;
        }
    }

}
