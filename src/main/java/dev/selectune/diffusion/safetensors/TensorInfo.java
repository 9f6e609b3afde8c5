package dev.selectune.diffusion.safetensors;

import java.util.Arrays;

/**
 * One entry of a safetensors header: its dtype name as written in the file ("F32", "F16", "BF16", "I64", ...),
 * its shape and the byte range of its data, relative to the start of the data section.
 */
public record TensorInfo(String name, String dtype, long[] shape, long begin, long end) {

    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    public long byteLength() {
        return end - begin;
    }

    /** Bytes per element of a safetensors dtype, or -1 when the dtype is not one we read. */
    public static int bytesPerElement(String dtype) {
        return switch (dtype) {
            case "F64", "I64", "U64" -> 8;
            case "F32", "I32", "U32" -> 4;
            case "F16", "BF16", "I16", "U16" -> 2;
            case "I8", "U8", "BOOL" -> 1;
            default -> -1;
        };
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape);
    }
}
