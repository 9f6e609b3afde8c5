package dev.selectune.training;

import java.nio.file.Path;
import java.util.List;

/**
 * What a finished (or cancelled) job produced, all files inside the output folder the caller gave.
 *
 * @param loraDiffusers {@code lora.safetensors}, PEFT/diffusers naming
 * @param loraKohya     {@code lora-kohya.safetensors}, kohya naming
 * @param metrics       {@code metrics.json}: per-step series and the memory summary
 * @param samples       {@code sample-N.png}, one per validation prompt (empty when cancelled or none asked)
 * @param seed          the seed used (the config's, or the one chosen)
 * @param cancelled     true when the run stopped early on cancellation (files reflect the last step)
 */
public record TrainingResult(Path loraDiffusers, Path loraKohya, Path metrics, List<Path> samples, MemorySummary memory,
                             int stepsDone, int bpSteps, int zoSteps, double finalLoss, long seed, boolean cancelled) {
}
