package dev.selectune.diffusion.nn;

import ai.djl.ndarray.types.DataType;

import java.util.Locale;

/**
 * The {@code weights_dtype} option: which dtype the frozen weights are held in. {@code auto} holds them in the
 * dtype the model computes in (fp16 on a GPU, fp32 on the CPU, as before the option existed); {@code fp16} holds
 * them in half precision whatever the compute dtype, halving the resident weights on the CPU.
 */
public enum WeightsDtype {
    AUTO, FP32, FP16;

    /** The config name: {@code auto}, {@code fp32} or {@code fp16}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static WeightsDtype parse(String s) {
        for (WeightsDtype d : values()) {
            if (d.configName().equals(s)) {
                return d;
            }
        }
        throw new IllegalArgumentException("weights_dtype must be auto, fp32 or fp16, got '" + s + "'");
    }

    public static boolean isValid(String s) {
        for (WeightsDtype d : values()) {
            if (d.configName().equals(s)) {
                return true;
            }
        }
        return false;
    }

    /** The held dtype for a model computing in {@code compute}. */
    public DataType held(DataType compute) {
        return switch (this) {
            case AUTO -> compute;
            case FP32 -> DataType.FLOAT32;
            case FP16 -> DataType.FLOAT16;
        };
    }

    /** The {@link Precision} of a model computing in {@code compute} with its weights held as this says. */
    public Precision precision(DataType compute) {
        return new Precision(compute, held(compute));
    }
}
