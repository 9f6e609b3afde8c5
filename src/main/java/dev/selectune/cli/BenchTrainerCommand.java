package dev.selectune.cli;

import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

@Command(name = "trainer", mixinStandardHelpOptions = true, description = "(being written)")
public final class BenchTrainerCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        throw new IllegalStateException("bench trainer: being written");
    }
}
