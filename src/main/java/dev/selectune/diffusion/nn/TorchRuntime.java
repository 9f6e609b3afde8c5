package dev.selectune.diffusion.nn;

import ai.djl.engine.Engine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URL;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import java.util.Locale;

/**
 * Chooses which libtorch build DJL loads, once per process, before anything touches the engine.
 *
 * <p>The jar bundles the CPU build (pytorch-native-cpu) so that it runs offline anywhere. DJL prefers a bundled
 * build over everything but {@code PYTORCH_LIBRARY_PATH}, and then never reads {@code PYTORCH_FLAVOR}: on a GPU
 * host a plain {@code java -jar} would silently train on the CPU. So when the user asks for a CUDA flavor
 * ({@code PYTORCH_FLAVOR=cu128}) and has not pointed DJL at a folder, the bundled build's marker file is hidden from
 * DJL while the engine initializes; DJL then takes the flavor from {@code PYTORCH_FLAVOR} and uses (or downloads
 * once, into its cache) that build. The Docker image instead fetches cu128 at build time and sets
 * {@code PYTORCH_LIBRARY_PATH}.
 */
public final class TorchRuntime {
    private static final Logger LOG = LoggerFactory.getLogger(TorchRuntime.class);
    private static final String BUNDLED_MARKER = "native/lib/pytorch.properties";
    private static volatile boolean initialized;

    private TorchRuntime() {
    }

    /**
     * Initializes the PyTorch engine with passive OpenMP waiting ({@link OpenMp}), huge pages for large tensors
     * ({@link NativeAllocator#preferHugePages}), glibc's mmap threshold as
     * {@code SELECTUNE_MALLOC_THRESHOLD} says ({@link NativeAllocator}: unset, 16 MiB; 0, glibc's dynamic default),
     * the flavor the environment asks for, and its constant pages kept in use ({@link ConstantPages}); later calls do
     * nothing.
     */
    public static synchronized void initialize() {
        if (initialized) {
            return;
        }
        long constantPagesInterval = ConstantPages.intervalFor(setting(ConstantPages.SETTING));
        // Read once when libtorch loads, so they must come first.
        OpenMp.preferPassiveWaiting();
        NativeAllocator.preferHugePages();
        // Not a low threshold: that re-faults every activation on every op.
        NativeAllocator.applySetting(setting("SELECTUNE_MALLOC_THRESHOLD"));
        String flavor = setting("PYTORCH_FLAVOR");
        boolean wantsCuda = flavor != null && flavor.toLowerCase(Locale.ROOT).startsWith("cu");
        boolean explicitPath = setting("PYTORCH_LIBRARY_PATH") != null;
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        if (wantsCuda && !explicitPath) {
            thread.setContextClassLoader(new HidingClassLoader(previous == null ? TorchRuntime.class.getClassLoader() : previous));
        }
        try {
            Engine engine = Engine.getEngine("PyTorch");
            LOG.info("libtorch {}, GPUs visible: {}{}", engine.getVersion(), engine.getGpuCount(),
                    wantsCuda ? " (PYTORCH_FLAVOR=" + flavor + ")" : "");
            if (wantsCuda && engine.getGpuCount() == 0) {
                LOG.warn("PYTORCH_FLAVOR={} but no GPU is visible: training will run on the CPU", flavor);
            }
            ConstantPages.start(constantPagesInterval);
        } finally {
            thread.setContextClassLoader(previous);
        }
        initialized = true;
    }

    private static String setting(String name) {
        String v = System.getProperty(name);
        if (v == null || v.isBlank()) {
            v = System.getenv(name);
        }
        return v == null || v.isBlank() ? null : v;
    }

    /** Delegates everything but the bundled CPU build's marker, which it reports absent. */
    private static final class HidingClassLoader extends ClassLoader {
        HidingClassLoader(ClassLoader parent) {
            super(parent);
        }

        @Override
        public Enumeration<URL> getResources(String name) throws IOException {
            if (BUNDLED_MARKER.equals(name)) {
                List<URL> kept = Collections.list(getParent().getResources(name)).stream()
                        .filter(u -> !u.toString().contains("pytorch-native-cpu"))
                        .toList();
                return Collections.enumeration(kept);
            }
            return super.getResources(name);
        }

        @Override
        public URL getResource(String name) {
            if (BUNDLED_MARKER.equals(name)) {
                try {
                    Enumeration<URL> e = getResources(name);
                    return e.hasMoreElements() ? e.nextElement() : null;
                } catch (IOException ex) {
                    return null;
                }
            }
            return super.getResource(name);
        }
    }
}
