package dev.selectune.cli;

import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

@Command(name = "generate", mixinStandardHelpOptions = true, description = "(being written)")
public final class GenerateCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        throw new IllegalStateException("generate: being written");
    }
}
