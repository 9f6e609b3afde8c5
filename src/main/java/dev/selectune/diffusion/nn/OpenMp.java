package dev.selectune.diffusion.nn;

/**
 * Makes libtorch's OpenMP worker threads sleep instead of spin between operations.
 *
 * <p>GNU OpenMP (which the libtorch CPU build uses) busy-waits by default. With more runnable threads than cores, as
 * on a shared host, a service running several jobs, or CI, the spinning workers steal the cores the computing ones
 * need, and a generation runs many times slower than with {@code OMP_WAIT_POLICY=PASSIVE} (docs/engine.md has the
 * figures). The policy is read once, when libtorch loads, so this must run before
 * anything touches the engine. An explicit {@code OMP_WAIT_POLICY} in the environment wins.
 */
public final class OpenMp {
    private OpenMp() {
    }

    /** Sets {@code OMP_WAIT_POLICY=PASSIVE} in the process environment unless it is already set; true when set. */
    public static boolean preferPassiveWaiting() {
        return NativeEnvironment.setUnlessPresent("OMP_WAIT_POLICY", "PASSIVE");
    }
}
