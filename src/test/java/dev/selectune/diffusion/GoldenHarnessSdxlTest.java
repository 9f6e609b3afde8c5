package dev.selectune.diffusion;

import dev.selectune.diffusion.golden.GoldenCaseRun;
import dev.selectune.diffusion.golden.GoldenCheck;
import dev.selectune.diffusion.golden.GoldenPlan;
import dev.selectune.diffusion.safetensors.SafeTensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GoldenReferenceTest's harness on the SDXL case {@code tiny-sdxl} (made by {@code make_tiny_sdxl.py} with diffusers):
 * every SDXL entry kind of the golden format is in the case and has a check that reads the right inputs, so
 * GoldenReferenceTest compares each one with the reference; and an entry under another name is refused, not skipped.
 * The numbers themselves are GoldenReferenceTest's.
 */
class GoldenHarnessSdxlTest {
    private static final List<String> UNET_INPUTS = List.of("unet.sample_16x24", "unet.timestep",
            "unet.encoder_hidden_states", "unet.text_embeds", "unet.time_ids");

    @Test
    void everySdxlEntryKindIsInTheCaseAndChecked() {
        try (GoldenCaseRun run = GoldenCaseRun.open(GoldenCase.resource("tiny-sdxl"))) {
            GoldenPlan plan = GoldenPlan.of(run);
            assertEquals(Map.of(), plan.planningErrors());
            assertEquals(List.of(), plan.unknownEntries());
            Map<String, GoldenCheck> checks = plan.checks();

            assertEquals(List.of(), checks.get("text2.input_ids").inputs());
            List<String> text2 = checks.keySet().stream().filter(e -> e.startsWith("text2.")).sorted().toList();
            assertEquals(List.of("text2.hidden_states.0", "text2.hidden_states.1", "text2.hidden_states.2",
                    "text2.hidden_states.3", "text2.input_ids", "text2.last_hidden_state", "text2.text_embeds"), text2);
            for (String e : text2) {
                if (!e.equals("text2.input_ids")) {
                    assertEquals(List.of("text2.input_ids"), checks.get(e).inputs(), e);
                }
            }
            assertTrue(checks.containsKey("text.sdxl_prompt_embeds"));
            assertTrue(checks.containsKey("text.sdxl_pooled_prompt_embeds"));
            assertEquals(UNET_INPUTS, checks.get("unet.debug_16x24.add_time_proj").inputs());
            assertEquals(UNET_INPUTS, checks.get("unet.debug_16x24.add_embedding").inputs());
            assertTrue(checks.get("unet.out").inputs().containsAll(List.of("unet.text_embeds", "unet.time_ids")));
            assertTrue(checks.get("lora.out").inputs().containsAll(List.of("unet.text_embeds", "unet.time_ids")));
            for (String e : List.of("pipe.pooled_prompt_embeds", "pipe.negative_pooled_prompt_embeds",
                    "pipe.add_time_ids", "pipe.latents_out")) {
                assertTrue(checks.containsKey(e), e);
            }
        }
    }

    /** The names before the issue-11 format ({@code text_2.*}) are no longer understood: they fail, as any unknown. */
    @Test
    void anEntryUnderAnotherNameIsRefused(@TempDir Path tmp) throws IOException {
        Path source = GoldenCase.resource("tiny-sdxl");
        Path copy = tmp.resolve("tiny-sdxl-renamed");
        try (Stream<Path> files = Files.walk(source)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Path target = copy.resolve(source.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
        try (GoldenCase golden = GoldenCase.load(source)) {
            SafeTensorsWriter writer = new SafeTensorsWriter();
            for (String e : golden.entryNames()) {
                writer.put(e.equals("text2.text_embeds") ? "text_2.text_embeds" : e, golden.get(e));
            }
            writer.write(copy.resolve("golden.safetensors"));
        }
        try (GoldenCaseRun run = GoldenCaseRun.open(copy)) {
            GoldenPlan plan = GoldenPlan.of(run);
            assertEquals(List.of("text_2.text_embeds"), new ArrayList<>(plan.unknownEntries()));
        }
    }
}
