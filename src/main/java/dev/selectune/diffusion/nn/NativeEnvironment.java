package dev.selectune.diffusion.nn;

import com.sun.jna.Library;
import com.sun.jna.Native;

/**
 * The process environment as native code sees it. Some of libtorch's settings are environment variables that it
 * (or its OpenMP runtime) reads once, when it loads or at its first allocation; setting them from Java before the
 * engine loads is the only way to choose them inside a running JVM ({@link System#getenv} is a copy that native
 * code never reads).
 */
final class NativeEnvironment {
    private NativeEnvironment() {
    }

    private interface C extends Library {
        int setenv(String name, String value, int overwrite);

        String getenv(String name);
    }

    /** {@code name} as native code reads it now, or null (also where there is no C {@code getenv}). */
    static String get(String name) {
        try {
            return Native.load("c", C.class).getenv(name);
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            return System.getenv(name);
        }
    }

    /**
     * Sets {@code name=value} unless the environment already has {@code name}, which always wins.
     *
     * @return true when this set it; false when it was set already or there is no C {@code setenv} (Windows),
     *     which leaves libtorch's own default
     */
    static boolean setUnlessPresent(String name, String value) {
        // The native environment, not System.getenv's copy: an earlier setUnlessPresent is only there.
        if (get(name) != null) {
            return false;
        }
        try {
            return Native.load("c", C.class).setenv(name, value, 0) == 0;
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            return false;
        }
    }
}
