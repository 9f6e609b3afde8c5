package dev.selectune.cli;

import picocli.CommandLine.Command;

/** {@code bench unet}, {@code bench trainer} and {@code bench api}: benchmarks that print figures (never timed tests). */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks: speed and memory of the UNet and of the trainer's strategies.",
        subcommands = {BenchUnetCommand.class, BenchTrainerCommand.class, BenchApiCommand.class,
                BenchPersonalizationCommand.class})
public final class BenchCommand {
}
