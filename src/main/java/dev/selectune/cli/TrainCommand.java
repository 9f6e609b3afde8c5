package dev.selectune.cli;

import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

@Command(name = "train", mixinStandardHelpOptions = true, description = "(being written)")
public final class TrainCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        throw new IllegalStateException("train: being written");
    }
}
