package dev.selectune.diffusion.schedulers;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.selectune.diffusion.PipelineException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;

/**
 * A diffusers {@code scheduler_config.json}: the noise schedule and the sampling options this code implements.
 *
 * <p>Absent fields take the default of the named class in diffusers 0.27 (they differ: DDIM and DDPM clip samples
 * and space timesteps "leading" by default, Euler and LMS use "linspace", PNDM does not set alpha to one). Values
 * that would change the computation in ways this code does not support (thresholding, Karras sigmas, continuous
 * timesteps, an unknown schedule or prediction type, a DDPM variance_type other than "fixed_small") fail at load,
 * naming the field. DPM-Solver's and PNDM's own
 * fields are read for their classes only (see {@link MultistepOptions}); fields of classes that run on a fallback
 * (UniPC's orders, ...) are ignored, which is what diffusers does when a config is handed to another class with
 * {@code from_config}.
 */
public record SchedulerConfig(String className, int numTrainTimesteps, double betaStart, double betaEnd,
                              BetaSchedule betaSchedule, double[] trainedBetas, PredictionType predictionType,
                              TimestepSpacing timestepSpacing, int stepsOffset, boolean setAlphaToOne,
                              boolean clipSample, float clipSampleRange, boolean rescaleBetasZeroSnr,
                              MultistepOptions multistep) {

    /**
     * Options of the multistep samplers, read only for their class. DPM-Solver++ ({@code DPMSolverMultistepScheduler}):
     * solver order 1 or 2, the second-order variant ("midpoint" or "heun"), whether the last steps drop to first
     * order, and whether the final sigma is 0 ("zero") or the smallest training sigma ("sigma_min"). PNDM: whether
     * the Runge-Kutta warm-up is skipped (PLMS only, as every Stable Diffusion checkpoint configures it).
     */
    public record MultistepOptions(int solverOrder, boolean midpoint, boolean lowerOrderFinal, boolean eulerAtFinal,
                                   boolean finalSigmaZero, boolean skipPrkSteps) {
        /** diffusers 0.27's defaults. */
        public static final MultistepOptions DEFAULT = new MultistepOptions(2, true, true, false, true, false);
    }

    public enum BetaSchedule implements ConfigValue {
        LINEAR, SCALED_LINEAR, SQUAREDCOS_CAP_V2
    }

    /** What the UNet predicts: the noise, the velocity v = sqrt(a) eps - sqrt(1-a) x0, or x0 itself. */
    public enum PredictionType implements ConfigValue {
        EPSILON, V_PREDICTION, SAMPLE
    }

    public enum TimestepSpacing implements ConfigValue {
        LEADING, TRAILING, LINSPACE
    }

    /** An option's spelling in scheduler_config.json: the constant's name in lower case ("scaled_linear"). */
    public interface ConfigValue {
        String name();

        default String configName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Scheduler classes whose own default timestep spacing is "linspace" (the k-diffusion family). */
    private static final Set<String> LINSPACE_BY_DEFAULT = Set.of("EulerDiscreteScheduler",
            "EulerAncestralDiscreteScheduler", "LMSDiscreteScheduler", "HeunDiscreteScheduler",
            "KDPM2DiscreteScheduler", "KDPM2AncestralDiscreteScheduler", "DPMSolverMultistepScheduler",
            "DPMSolverSinglestepScheduler", "DPMSolverSDEScheduler", "UniPCMultistepScheduler", "DEISMultistepScheduler");

    public SchedulerConfig {
        if (numTrainTimesteps < 1) {
            throw new PipelineException("scheduler config field num_train_timesteps must be positive, got " + numTrainTimesteps);
        }
        if (trainedBetas != null && trainedBetas.length != numTrainTimesteps) {
            throw new PipelineException("scheduler config field trained_betas has " + trainedBetas.length
                    + " values but num_train_timesteps is " + numTrainTimesteps);
        }
        if (stepsOffset < 0) {
            throw new PipelineException("scheduler config field steps_offset must not be negative, got " + stepsOffset);
        }
    }

    /** Reads {@code scheduler_config.json}; errors name the file and field. */
    public static SchedulerConfig load(Path configFile) {
        JsonObject json;
        try {
            json = JsonParser.parseString(Files.readString(configFile)).getAsJsonObject();
        } catch (IOException | RuntimeException e) {
            throw new PipelineException(configFile + ": unreadable scheduler config: " + e.getMessage(), e);
        }
        try {
            return fromJson(json);
        } catch (PipelineException e) {
            throw new PipelineException(configFile + ": " + e.getMessage(), e);
        }
    }

    public static SchedulerConfig fromJson(JsonObject json) {
        String cls = string(json, "_class_name", "DDIMScheduler");
        boolean ddimLike = cls.equals("DDIMScheduler") || cls.equals("DDPMScheduler");
        if (bool(json, "thresholding", false)) {
            throw new PipelineException("scheduler config field thresholding=true (dynamic thresholding) is not supported");
        }
        if (bool(json, "use_karras_sigmas", false)) {
            throw new PipelineException("scheduler config field use_karras_sigmas=true is not supported");
        }
        // DDPM's ancestral step implements the posterior variance only (SD's configs); the others change the noise.
        String varianceType = string(json, "variance_type", "fixed_small");
        if (cls.equals("DDPMScheduler") && !varianceType.equals("fixed_small")) {
            throw new PipelineException("scheduler config field variance_type='" + varianceType
                    + "' is not supported (only 'fixed_small')");
        }
        String timestepType = string(json, "timestep_type", "discrete");
        if (!timestepType.equals("discrete")) {
            throw new PipelineException("scheduler config field timestep_type='" + timestepType + "' is not supported (only 'discrete')");
        }
        String interpolation = string(json, "interpolation_type", "linear");
        if (!interpolation.equals("linear")) {
            throw new PipelineException("scheduler config field interpolation_type='" + interpolation
                    + "' is not supported (only 'linear')");
        }
        return new SchedulerConfig(cls,
                integer(json, "num_train_timesteps", 1000),
                number(json, "beta_start", 0.0001),
                number(json, "beta_end", 0.02),
                named(BetaSchedule.class, "beta_schedule", string(json, "beta_schedule", "linear")),
                doubles(json, "trained_betas"),
                named(PredictionType.class, "prediction_type", string(json, "prediction_type", "epsilon")),
                named(TimestepSpacing.class, "timestep_spacing",
                        string(json, "timestep_spacing", LINSPACE_BY_DEFAULT.contains(cls) ? "linspace" : "leading")),
                integer(json, "steps_offset", 0),
                bool(json, "set_alpha_to_one", cls.equals("DDIMScheduler")),
                bool(json, "clip_sample", ddimLike),
                (float) number(json, "clip_sample_range", 1.0),
                bool(json, "rescale_betas_zero_snr", false),
                switch (cls) {
                    case "DPMSolverMultistepScheduler" -> multistepOptions(json);
                    case "PNDMScheduler" -> new MultistepOptions(2, true, true, false, true,
                            bool(json, "skip_prk_steps", false));
                    default -> MultistepOptions.DEFAULT;
                });
    }

    /** The DPM-Solver++ options this code implements; the SDE and non-"++" variants and order 3 fail, naming the field. */
    private static MultistepOptions multistepOptions(JsonObject json) {
        String algorithm = string(json, "algorithm_type", "dpmsolver++");
        if (!algorithm.equals("dpmsolver++")) {
            throw new PipelineException("scheduler config field algorithm_type='" + algorithm
                    + "' is not supported (only 'dpmsolver++')");
        }
        int order = integer(json, "solver_order", 2);
        if (order != 1 && order != 2) {
            throw new PipelineException("scheduler config field solver_order=" + order + " is not supported (1 or 2)");
        }
        String solverType = string(json, "solver_type", "midpoint");
        if (!solverType.equals("midpoint") && !solverType.equals("heun")) {
            throw new PipelineException("scheduler config field solver_type='" + solverType
                    + "' is not supported (midpoint or heun)");
        }
        String finalSigmas = string(json, "final_sigmas_type", "zero");
        if (!finalSigmas.equals("zero") && !finalSigmas.equals("sigma_min")) {
            throw new PipelineException("scheduler config field final_sigmas_type='" + finalSigmas
                    + "' is not supported (zero or sigma_min)");
        }
        if (field(json, "variance_type") != null) {
            throw new PipelineException("scheduler config field variance_type is not supported (only null)");
        }
        if (bool(json, "use_lu_lambdas", false)) {
            throw new PipelineException("scheduler config field use_lu_lambdas=true is not supported");
        }
        double lambdaMin = number(json, "lambda_min_clipped", Double.NEGATIVE_INFINITY);
        if (lambdaMin != Double.NEGATIVE_INFINITY) {
            throw new PipelineException("scheduler config field lambda_min_clipped=" + lambdaMin
                    + " is not supported (only -inf)");
        }
        return new MultistepOptions(order, solverType.equals("midpoint"), bool(json, "lower_order_final", true),
                bool(json, "euler_at_final", false), finalSigmas.equals("zero"), false);
    }

    /** Checks a num_inference_steps against num_train_timesteps and returns the latter. */
    int requireInferenceSteps(int n) {
        if (n < 1 || n > numTrainTimesteps) {
            throw new IllegalArgumentException("num_inference_steps must be in [1, " + numTrainTimesteps + "], got " + n);
        }
        return numTrainTimesteps;
    }

    /** The same settings under another class name, e.g. to sample with DDIM from a PNDM checkpoint. */
    public SchedulerConfig withClassName(String name) {
        return new SchedulerConfig(name, numTrainTimesteps, betaStart, betaEnd, betaSchedule, trainedBetas,
                predictionType, timestepSpacing, stepsOffset, setAlphaToOne, clipSample, clipSampleRange,
                rescaleBetasZeroSnr, multistep);
    }

    private static <E extends Enum<E> & ConfigValue> E named(Class<E> type, String field, String value) {
        StringBuilder allowed = new StringBuilder();
        for (E e : type.getEnumConstants()) {
            if (e.configName().equals(value)) {
                return e;
            }
            allowed.append(allowed.length() == 0 ? "" : ", ").append(e.configName());
        }
        throw new PipelineException("scheduler config field " + field + "='" + value + "' is not supported (supported: "
                + allowed + ")");
    }

    private static JsonElement field(JsonObject json, String name) {
        JsonElement e = json.get(name);
        return e == null || e.isJsonNull() ? null : e;
    }

    private static String string(JsonObject json, String name, String fallback) {
        JsonElement e = field(json, name);
        return e == null ? fallback : e.getAsString();
    }

    private static boolean bool(JsonObject json, String name, boolean fallback) {
        JsonElement e = field(json, name);
        try {
            return e == null ? fallback : e.getAsBoolean();
        } catch (RuntimeException ex) {
            throw new PipelineException("scheduler config field " + name + " must be a boolean, got " + e);
        }
    }

    private static int integer(JsonObject json, String name, int fallback) {
        JsonElement e = field(json, name);
        try {
            return e == null ? fallback : e.getAsInt();
        } catch (RuntimeException ex) {
            throw new PipelineException("scheduler config field " + name + " must be an integer, got " + e);
        }
    }

    /** Numbers are read as Python reads them (double); the schedule rounds to float32 where diffusers does. */
    private static double number(JsonObject json, String name, double fallback) {
        JsonElement e = field(json, name);
        try {
            return e == null ? fallback : e.getAsDouble();
        } catch (RuntimeException ex) {
            throw new PipelineException("scheduler config field " + name + " must be a number, got " + e);
        }
    }

    private static double[] doubles(JsonObject json, String name) {
        JsonElement e = field(json, name);
        if (e == null) {
            return null;
        }
        try {
            JsonArray a = e.getAsJsonArray();
            double[] out = new double[a.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = a.get(i).getAsDouble();
            }
            return out;
        } catch (RuntimeException ex) {
            throw new PipelineException("scheduler config field " + name + " must be a list of numbers");
        }
    }
}
