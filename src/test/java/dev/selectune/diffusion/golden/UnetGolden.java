package dev.selectune.diffusion.golden;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import dev.selectune.diffusion.pipeline.Owned;
import dev.selectune.diffusion.unet.AddedConditions;
import dev.selectune.diffusion.unet.UNet2DConditionModel;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The UNet: {@code unet.out} from ({@code unet.sample}, {@code unet.timestep}, {@code unet.encoder_hidden_states}),
 * {@code unet.out_16x24} from {@code unet.sample_16x24} with the same conditioning, and every
 * {@code unet.debug_16x24.<module>} intermediate (batch item 0 of that forward) from the model's tap.
 *
 * <p>SDXL-like cases add the text_time conditions as further inputs, found by their natural names: an entry under
 * {@code unet.} ending in {@code text_embeds} (pooled text, e.g. {@code unet.text_embeds}) and one ending in
 * {@code time_ids} (e.g. {@code unet.time_ids}).
 */
public final class UnetGolden implements GoldenFamily {
    static final String DEBUG = "unet.debug_16x24.";

    @Override
    public List<GoldenCheck> plan(GoldenCaseRun run) {
        List<GoldenCheck> checks = new ArrayList<>();
        List<String> conditioning = conditioningInputs(run);
        if (run.has("unet.out")) {
            checks.add(GoldenCheck.of("unet.out", with("unet.sample", conditioning),
                    () -> forward(run, "unet.sample", null)));
        }
        if (run.has("unet.out_16x24")) {
            checks.add(GoldenCheck.of("unet.out_16x24", with("unet.sample_16x24", conditioning),
                    () -> forward16x24(run).get("out")));
        }
        for (String entry : run.entryNames()) {
            if (entry.startsWith(DEBUG)) {
                String module = entry.substring(DEBUG.length());
                checks.add(GoldenCheck.of(entry, with("unet.sample_16x24", conditioning), () -> {
                    NDArray tapped = forward16x24(run).get(module);
                    if (tapped == null) {
                        throw new AssertionError("the UNet forward emits no intermediate named '" + module + "'");
                    }
                    return tapped;
                }));
            }
        }
        return checks;
    }

    /** {@code unet.timestep}, {@code unet.encoder_hidden_states} and, for SDXL, the added conditions. */
    static List<String> conditioningInputs(GoldenCaseRun run) {
        List<String> inputs = new ArrayList<>(List.of("unet.timestep", "unet.encoder_hidden_states"));
        String textEmbeds = addedInput(run, "text_embeds");
        String timeIds = addedInput(run, "time_ids");
        if (textEmbeds != null) {
            inputs.add(textEmbeds);
        }
        if (timeIds != null) {
            inputs.add(timeIds);
        }
        return inputs;
    }

    static String addedInput(GoldenCaseRun run, String suffix) {
        for (String entry : run.entryNames()) {
            if (entry.startsWith("unet.") && !entry.startsWith(DEBUG) && entry.endsWith(suffix)) {
                return entry;
            }
        }
        return null;
    }

    public static AddedConditions addedConditions(GoldenCaseRun run) {
        String textEmbeds = addedInput(run, "text_embeds");
        String timeIds = addedInput(run, "time_ids");
        if (textEmbeds == null && timeIds == null) {
            return null;
        }
        if (textEmbeds == null || timeIds == null) {
            throw new AssertionError("an SDXL case needs both unet.*text_embeds and unet.*time_ids, found "
                    + textEmbeds + " and " + timeIds);
        }
        return new AddedConditions(run.tensor(textEmbeds), run.tensor(timeIds));
    }

    private static List<String> with(String first, List<String> rest) {
        List<String> all = new ArrayList<>();
        all.add(first);
        all.addAll(rest);
        return all;
    }

    static UNet2DConditionModel unet(GoldenCaseRun run) {
        return run.memo("model:unet", () -> run.own(run.folder().loadUnet(Device.cpu(), DataType.FLOAT32))).model();
    }

    private static NDArray forward(GoldenCaseRun run, String sample, java.util.function.BiConsumer<String, NDArray> tap) {
        return unet(run).forward(run.tensor(sample), run.tensor("unet.timestep"),
                run.tensor("unet.encoder_hidden_states"), addedConditions(run), tap);
    }

    /** One 16x24 forward: its output under "out", and batch item 0 of every tapped intermediate by module name. */
    private static Map<String, NDArray> forward16x24(GoldenCaseRun run) {
        return run.memo("unet:16x24", () -> {
            Map<String, NDArray> out = new HashMap<>();
            NDArray result = forward(run, "unet.sample_16x24", (name, value) -> {
                NDArray first = value.get("0:1").duplicate();
                NDScope.unregister(first);
                first.attach(run.manager());
                out.put(name, first);
            });
            out.put("out", result);
            return out;
        });
    }
}
