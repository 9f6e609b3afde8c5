package dev.selectune.cli;

import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

@Command(name = "unet", mixinStandardHelpOptions = true, description = "(being written)")
public final class BenchUnetCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        throw new IllegalStateException("bench unet: being written");
    }
}
