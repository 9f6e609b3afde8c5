package dev.selectune.cli;

import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

@Command(name = "serve", mixinStandardHelpOptions = true, description = "(being written)")
public final class ServeCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        throw new IllegalStateException("serve: being written");
    }
}
