package dev.selectune.cli;

import dev.selectune.diffusion.nn.TorchRuntime;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The one entry point of {@code selectune.jar}: {@code serve} (the default, the REST service), {@code train},
 * {@code generate}, {@code evaluate}, {@code bench} and {@code keys}, all calling the same library code the service's workers use.
 */
@Command(name = "selectune", mixinStandardHelpOptions = true, version = "selectune 0.1.0",
        description = "Memory-efficient DreamBooth-LoRA fine-tuning (BP-low / ZO-high selective optimization).",
        subcommands = {ServeCommand.class, TrainCommand.class, GenerateCommand.class, EvaluateCommand.class,
                BenchCommand.class, KeysCommand.class, PretrainCommand.class, WebhooksCommand.class})
public final class Main {

    public static void main(String[] args) {
        System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", defaultOffline()));
        // Before anything touches DJL: passive OpenMP waiting, and the CPU build in the jar or the CUDA flavor
        // the host asks for.
        TorchRuntime.initialize();
        if (args.length == 0 || args[0].startsWith("--") && !args[0].equals("--help") && !args[0].equals("--version")) {
            // `java -jar selectune.jar` with no command (or only Spring options such as --server.port=9090 or
            // --selectune.models=...) serves.
            String[] serveArgs = new String[args.length + 1];
            serveArgs[0] = "serve";
            System.arraycopy(args, 0, serveArgs, 1, args.length);
            args = serveArgs;
        }
        int code = new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true).execute(args);
        if (code != 0 || !"serve".equals(args[0])) {
            System.exit(code);
        }
    }

    /**
     * Offline unless the user asked DJL for a CUDA build ({@code PYTORCH_FLAVOR}, e.g. cu128 on a GPU host) that is
     * not already in its cache or named by {@code PYTORCH_LIBRARY_PATH}: see {@link TorchRuntime}.
     */
    private static String defaultOffline() {
        String flavor = System.getenv("PYTORCH_FLAVOR");
        return flavor == null || flavor.isBlank() || flavor.equals("cpu") ? "true" : "false";
    }
}
