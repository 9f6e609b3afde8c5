package dev.selectune.jobs;

import ai.djl.Device;
import ai.djl.util.cuda.CudaUtils;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** {@code selectune.devices}: {@code auto} (every GPU, else the CPU), or a list such as {@code gpu0,gpu1} / {@code cpu}. */
public final class Devices {
    private Devices() {
    }

    public static List<Device> parse(String spec) {
        List<Device> out = new ArrayList<>();
        if (spec.trim().equalsIgnoreCase("auto")) {
            // CudaUtils asks the CUDA driver directly, without loading libtorch.
            int gpus = CudaUtils.getGpuCount();
            for (int i = 0; i < gpus; i++) {
                out.add(Device.gpu(i));
            }
            if (out.isEmpty()) {
                out.add(Device.cpu());
            }
            return out;
        }
        for (String name : spec.split(",")) {
            String n = name.trim().toLowerCase(Locale.ROOT);
            if (n.equals("cpu")) {
                out.add(Device.cpu());
            } else if (n.matches("gpu\\d+")) {
                out.add(Device.gpu(Integer.parseInt(n.substring(3))));
            } else if (!n.isEmpty()) {
                throw new IllegalArgumentException("selectune.devices: expected auto, cpu or gpuN, got '" + n + "'");
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("selectune.devices: no device in '" + spec + "'");
        }
        return out;
    }

    /** The label used in metrics and job rows: {@code cpu}, {@code gpu0}, ... */
    public static String label(Device d) {
        return d.isGpu() ? "gpu" + d.getDeviceId() : "cpu";
    }
}
