package dev.selectune.cli;

import dev.selectune.util.Problem;
import dev.selectune.training.pretrain.PretrainConfig;
import dev.selectune.training.pretrain.Pretrainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code pretrain}: full-parameter training of a (tiny) pipeline's UNet on subject photos, writing a diffusers folder
 * whose UNet has learned to denoise photos: the base {@code bench personalization} trains its LoRAs on.
 */
@Command(name = "pretrain", mixinStandardHelpOptions = true,
        description = "Train a pipeline's whole UNet on folders of subject photos (VAE and text encoder kept).")
public final class PretrainCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "base diffusers pipeline folder (e.g. tiny-sd15)")
    Path model;
    @Option(names = "--dataset", required = true, description = "folder of subject folders of photos (DreamBooth)")
    Path dataset;
    @Option(names = "--output", required = true, description = "folder for the pretrained pipeline")
    Path output;
    @Option(names = "--held-out", split = ",", defaultValue = "dog,cat,teapot,backpack",
            description = "subjects left out (default: ${DEFAULT-VALUE})")
    List<String> heldOut;
    @Option(names = "--subjects", split = ",", description = "train only on these subjects (default: all not held out)")
    List<String> subjects;
    @Option(names = "--steps", defaultValue = "900", description = "default: ${DEFAULT-VALUE}")
    int steps;
    @Option(names = "--batch-size", defaultValue = "8", description = "default: ${DEFAULT-VALUE}")
    int batchSize;
    @Option(names = "--seed", defaultValue = "0", description = "default: ${DEFAULT-VALUE}")
    long seed;
    @Option(names = "--caption", defaultValue = "a photo", description = "default: ${DEFAULT-VALUE}")
    String caption;
    @Option(names = "--learning-rate", defaultValue = "1e-3", description = "AdamW, constant (default: ${DEFAULT-VALUE})")
    double learningRate;
    @Option(names = "--resolution", description = "training resolution in pixels (default: the model's native one)")
    Integer resolution;
    @Option(names = "--log-every", defaultValue = "10", description = "print every N steps (default: ${DEFAULT-VALUE})")
    int logEvery;

    @Override
    public Integer call() {
        PretrainConfig config = PretrainConfig.builder().heldOut(heldOut)
                .subjects(subjects == null ? List.of() : subjects).steps(steps).batchSize(batchSize)
                .seed(seed).caption(caption).learningRate(learningRate).resolution(resolution).build();
        List<Problem> problems = config.problems();
        if (!problems.isEmpty()) {
            System.err.println("invalid options:");
            problems.forEach(p -> System.err.println("  " + p));
            return 2;
        }
        Pretrainer.Result r = new Pretrainer(model, dataset, config).run(output, (step, total, loss, gradNorm, seconds) -> {
            if (step % Math.max(1, logEvery) == 0 || step == 1 || step == total) {
                System.out.printf(Locale.ROOT, "step %d/%d  loss %.4f  grad norm %.3f  %.2fs%n", step, total, loss,
                        gradNorm, seconds);
            }
        });
        System.out.printf(Locale.ROOT, "%d subjects, %d photos, UNet %d parameters; VAE scaling factor %.5f%n",
                r.subjects().size(), r.images(), r.parameters(), r.scalingFactor());
        System.out.printf(Locale.ROOT, "final loss (mean of the last %d steps) %.4f; %.0f s; wrote %s%n",
                Math.min(50, r.losses().size()), r.finalLoss(), r.seconds(), r.output());
        return 0;
    }
}
