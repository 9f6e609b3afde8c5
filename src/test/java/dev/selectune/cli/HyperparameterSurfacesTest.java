package dev.selectune.cli;

import dev.selectune.config.StrictJsonConfiguration;
import dev.selectune.jobs.JobSpec;
import dev.selectune.training.HyperparameterSamples;
import dev.selectune.training.HyperparameterSet;
import dev.selectune.training.TrainingConfig;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every option of {@link TrainingConfig#HYPERPARAMETERS} reaches the config by its JSON name in a job spec (and is
 * echoed under it) and by its flag on the {@code train} command, with no code per option in either: the loop
 * covers an option added later as it covers these.
 */
class HyperparameterSurfacesTest {
    private static final JsonMapper JSON = StrictJsonConfiguration.refuseCoercions(JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)).build();

    @Test
    void everyOptionReachesTheConfigThroughTheJobSpec() {
        for (HyperparameterSet.Definition d : TrainingConfig.HYPERPARAMETERS.all()) {
            Object wire = HyperparameterSamples.notTheDefault(d);
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("base_model", "tiny-sd15");
            body.put("instance_prompt", "a photo of sks dog");
            body.put(d.name(), wire);
            JobSpec spec = JSON.readValue(JSON.writeValueAsString(body), JobSpec.class);
            TrainingConfig config = spec.check().config();
            assertThat(d.get(config)).as(d.name()).isEqualTo(d.fromWire(wire));

            JsonNode echoed = JSON.readTree(JSON.writeValueAsString(spec.resolved(config, "imgset_1")));
            assertThat(JSON.treeToValue(echoed.get(d.name()), Object.class)).as(d.name() + " echoed")
                    .isEqualTo(wire instanceof Long l && l < Integer.MAX_VALUE ? (Object) l.intValue() : wire);
            for (HyperparameterSet.Definition other : TrainingConfig.HYPERPARAMETERS.all()) {
                assertThat(echoed.has(other.name()) || other.defaultValue() == null)
                        .as(other.name() + " spelled out in the stored spec").isTrue();
            }
        }
    }

    @Test
    void everyOptionReachesTheConfigThroughItsFlag() {
        for (HyperparameterSet.Definition d : TrainingConfig.HYPERPARAMETERS.all()) {
            Object wire = HyperparameterSamples.notTheDefault(d);
            List<String> args = new ArrayList<>(List.of("--model", "m", "--images", "a.jpg", "--output", "o"));
            if (!d.name().equals("instance_prompt")) {
                args.addAll(List.of("--prompt", "a photo of sks dog"));
            }
            String flag = d.flags().get(0);
            if (wire instanceof List<?> list) {
                list.forEach(v -> args.addAll(List.of(flag, v.toString())));
            } else if (wire instanceof Boolean) {
                args.add(flag);
            } else {
                args.addAll(List.of(flag, wire.toString()));
            }
            TrainCommand cmd = new TrainCommand();
            new CommandLine(cmd).parseArgs(args.toArray(String[]::new));
            assertThat(d.get(cmd.config())).as(d.name()).isEqualTo(d.fromWire(wire));
        }
    }

    @Test
    void theHelpShowsEachOptionsDescriptionAndDefault() {
        String help = new CommandLine(new TrainCommand()).getUsageMessage().replaceAll("\\s+", " ");
        assertThat(help).contains("--learning-rate", "AdamW learning rate (default: 1.0E-4)", "-r, --resize-ratio",
                "dtap, tap, bp_high, bp_low, zo_high, random, reversed (default: dtap)");
    }

    @Test
    void aBadScheduleNameIsRefusedWhileParsing() {
        CommandLine cl = new CommandLine(new TrainCommand());
        try {
            cl.parseArgs("--model", "m", "--images", "a.jpg", "--output", "o", "--prompt", "p", "--schedule", "dtapp");
            throw new AssertionError("parsed");
        } catch (CommandLine.ParameterException e) {
            assertThat(e.getMessage()).contains("--schedule", "unknown schedule 'dtapp'");
        }
        TrainCommand cmd = new TrainCommand();
        new CommandLine(cmd).parseArgs("--model", "m", "--images", "a.jpg", "--output", "o", "--prompt", "p",
                "--schedule", "BP_LOW");
        assertThat(cmd.config().schedule().wireName()).isEqualTo("bp_low");
    }
}
