package dev.selectune.cli;

import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

@Command(name = "keys", mixinStandardHelpOptions = true, description = "(being written)")
public final class KeysCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        throw new IllegalStateException("keys: being written");
    }
}
