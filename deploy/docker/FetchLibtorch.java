import ai.djl.pytorch.jni.LibUtils;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Build-time helper of the Dockerfile: makes DJL put the libtorch of the wanted flavor (and its JNI library) into
 * {@code ENGINE_CACHE_DIR}, so the container starts without network access.
 *
 * <p>Run it on the application's runtime classpath. For {@code PYTORCH_FLAVOR=cpu} DJL extracts the libtorch that
 * ships in the jar (pytorch-native-cpu). For a CUDA flavor (cu128) the classpath must NOT contain
 * pytorch-native-cpu: DJL takes a bundled CPU build as a match even on a GPU host and never reads
 * {@code PYTORCH_FLAVOR} then; without it DJL downloads the flavor named by {@code PYTORCH_FLAVOR}. DJL falls back
 * to CPU silently when it finds no such flavor, so this checks the folder it got and fails the build instead.
 *
 * <p>Prints the libtorch folder on the last line of its output (the image points {@code PYTORCH_LIBRARY_PATH}
 * there). Exit status 0 only when the folder has the wanted flavor (and, when it loaded, the JNI library beside it).
 */
public final class FetchLibtorch {

    public static void main(String[] args) throws Exception {
        String flavor = System.getenv().getOrDefault("PYTORCH_FLAVOR", "cpu");
        if (flavor.isBlank()) {
            flavor = "cpu";
        }
        boolean loaded = true;
        try {
            LibUtils.loadLibrary();
        } catch (UnsatisfiedLinkError e) {
            if (!flavor.startsWith("cu")) {
                throw e;
            }
            // A CUDA build may not load on a build host without the NVIDIA driver; the files are what we need.
            // DJL then extracts its JNI library (shipped in pytorch-jni) at the first start, offline.
            loaded = false;
            System.err.println("FetchLibtorch: libtorch fetched but not loadable without a GPU driver ("
                    + e.getMessage() + ")");
        }
        Path dir = Path.of(LibUtils.getLibtorchPath()).toRealPath();
        String folder = dir.getFileName().toString();
        if (!folder.contains("-" + flavor + "-") && !folder.contains("-" + flavor + "-precxx11-")) {
            fail("wanted libtorch flavor " + flavor + " but DJL chose " + dir
                    + " (for a CUDA flavor, is pytorch-native-cpu still on the classpath?)");
        }
        if (flavor.startsWith("cu") && !Files.exists(dir.resolve("libtorch_cuda.so"))) {
            fail(dir + " has no libtorch_cuda.so: not a CUDA build");
        }
        if (loaded) {
            try (var files = Files.list(dir)) {
                if (files.noneMatch(f -> f.getFileName().toString().endsWith("libdjl_torch.so"))) {
                    fail(dir + " has no DJL JNI library (*libdjl_torch.so)");
                }
            }
        }
        System.out.println(dir.toAbsolutePath());
    }

    private static void fail(String message) {
        System.err.println("FetchLibtorch: " + message);
        System.exit(1);
    }

    private FetchLibtorch() {
    }
}
