package dev.selectune.diffusion.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.IValue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * libtorch's fused kernels that DJL's NDArray API lacks ({@code scaled_dot_product_attention}, {@code group_norm},
 * {@code silu}), called through a TorchScript module that this class writes and loads once per process, and the
 * one switch between them and the NDArray compositions they replace.
 *
 * <p>The switch is the system property {@code selectune.kernels} ({@code fused}, the default, or {@code fallback}),
 * read here only; {@link #setMode} changes it for benchmarks and tests. Callers ask {@link #fused(NDArray)} and keep
 * their composition as the other branch: it also runs when the archive cannot be loaded (logged once), for dtypes
 * the kernels do not take, and for an (op, dtype, device) whose fused call failed once (logged once).
 *
 * <p>The methods run with the calling thread's grad mode, so autograd records the fused ops like any other and the
 * backward uses libtorch's own derivatives (flash attention's keeps only the output and the log-sum-exp). Tensors
 * stay on their device: the module has no parameters, and each op runs where its inputs are.
 */
public final class Kernels {
    private static final Logger LOG = LoggerFactory.getLogger(Kernels.class);
    private static final String PROPERTY = "selectune.kernels";

    /** Which kernels the model code uses. */
    public enum Mode {
        FUSED, FALLBACK;

        public static Mode parse(String s) {
            return switch (s.trim().toLowerCase(Locale.ROOT)) {
                case "fused" -> FUSED;
                case "fallback" -> FALLBACK;
                default -> throw new IllegalArgumentException(PROPERTY + " must be fused or fallback, got '" + s + "'");
            };
        }

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    static final String CLASS_NAME = "SelectuneKernels";

    /** TorchScript source of the module: one method per fused op. */
    static final String SOURCE = """
            class SelectuneKernels(Module):
              __parameters__ = []
              __buffers__ = []
              training : bool
              def sdpa(self: __torch__.SelectuneKernels, q: Tensor, k: Tensor, v: Tensor, scale: float) -> Tensor:
                return torch.scaled_dot_product_attention(q, k, v, None, 0., False, scale=scale)
              def sdpa_masked(self: __torch__.SelectuneKernels, q: Tensor, k: Tensor, v: Tensor, mask: Tensor,
                  scale: float) -> Tensor:
                return torch.scaled_dot_product_attention(q, k, v, mask, 0., False, scale=scale)
              def group_norm(self: __torch__.SelectuneKernels, x: Tensor, groups: int, w: Tensor, b: Tensor,
                  eps: float) -> Tensor:
                return torch.group_norm(x, groups, w, b, eps, False)
              def group_norm_silu(self: __torch__.SelectuneKernels, x: Tensor, groups: int, w: Tensor, b: Tensor,
                  eps: float) -> Tensor:
                y = torch.group_norm(x, groups, w, b, eps, False)
                if torch.is_grad_enabled():
                  y = torch.silu(y)
                else:
                  y = torch.silu_(y)
                return y
              def silu(self: __torch__.SelectuneKernels, x: Tensor) -> Tensor:
                return torch.silu(x)
              def strides(self: __torch__.SelectuneKernels, x: Tensor) -> List[int]:
                return x.stride()
            """;

    private static volatile Mode mode = Mode.parse(System.getProperty(PROPERTY, "fused"));
    private static final Set<String> FAILED = ConcurrentHashMap.newKeySet();

    private Kernels() {
    }

    public static Mode mode() {
        return mode;
    }

    /** Chooses the kernels for the whole process (benchmarks and tests compare both). */
    public static void setMode(Mode m) {
        mode = m;
    }

    /** Whether the fused kernels are on, loaded, and take tensors like {@code x} (fp32, fp16 or fp64). */
    public static boolean fused(NDArray x) {
        if (mode != Mode.FUSED) {
            return false;
        }
        DataType t = x.getDataType();
        if (t != DataType.FLOAT32 && t != DataType.FLOAT16 && t != DataType.FLOAT64) {
            return false;
        }
        return Loaded.MODULE != null;
    }

    /**
     * {@code scaled_dot_product_attention(q, k, v, scale=scale)} over (..., N, d) queries and (..., M, d) keys and
     * values; with 4-d (B, H, N, d) inputs libtorch picks its flash kernel on the CPU. Null when the fused call
     * failed for these inputs (the caller falls back).
     */
    public static NDArray sdpa(NDArray q, NDArray k, NDArray v, float scale) {
        return call("sdpa", q, IValue.from((PtNDArray) q), IValue.from((PtNDArray) k), IValue.from((PtNDArray) v),
                IValue.from((double) scale));
    }

    /** As {@link #sdpa} with an additive (or boolean) mask broadcast to the scores. */
    public static NDArray sdpa(NDArray q, NDArray k, NDArray v, NDArray mask, float scale) {
        return call("sdpa_masked", q, IValue.from((PtNDArray) q), IValue.from((PtNDArray) k),
                IValue.from((PtNDArray) v), IValue.from((PtNDArray) mask), IValue.from((double) scale));
    }

    /** {@code group_norm(x, groups, w, b, eps)}, then {@code silu} when asked; null when the fused call failed. */
    public static NDArray groupNorm(NDArray x, int groups, NDArray w, NDArray b, float eps, boolean silu) {
        return call(silu ? "group_norm_silu" : "group_norm", x, IValue.from((PtNDArray) x), IValue.from(groups),
                IValue.from((PtNDArray) w), IValue.from((PtNDArray) b), IValue.from((double) eps));
    }

    /** {@code silu(x)}: one op that keeps only its input for the backward; null when the fused call failed. */
    public static NDArray silu(NDArray x) {
        return call("silu", x, IValue.from((PtNDArray) x));
    }

    /**
     * The strides of {@code x} in elements, which DJL does not expose (for {@link MemoryFormat#isChannelsLast}); null
     * when the module is unavailable.
     */
    static long[] strides(NDArray x) {
        if (Loaded.MODULE == null) {
            return null;
        }
        try (IValue arg = IValue.from((PtNDArray) x); IValue out = Loaded.MODULE.run("strides", arg)) {
            return out.toLongArray();
        }
    }

    private static NDArray call(String method, NDArray first, IValue... args) {
        String key = method + "/" + first.getDataType() + "/" + first.getDevice();
        try {
            if (FAILED.contains(key)) {
                return null;
            }
            try (IValue out = Loaded.MODULE.run(method, args)) {
                return out.toTensor((PtNDManager) first.getManager());
            } catch (RuntimeException e) {
                if (FAILED.add(key)) {
                    LOG.warn("fused {} failed for {} on {}, using the fallback from now on: {}", method,
                            first.getDataType(), first.getDevice(), e.toString());
                }
                return null;
            }
        } finally {
            for (IValue a : args) {
                a.close();
            }
        }
    }

    /** The module, loaded on first use; null when it could not be (logged once). */
    private static final class Loaded {
        static final TorchScriptModule MODULE = load();

        private static TorchScriptModule load() {
            try {
                return TorchScriptModule.load(TorchScriptArchive.write(CLASS_NAME, SOURCE));
            } catch (RuntimeException | LinkageError e) {
                LOG.warn("fused kernels unavailable, using the NDArray fallbacks: {}", e.toString());
                return null;
            }
        }
    }
}
