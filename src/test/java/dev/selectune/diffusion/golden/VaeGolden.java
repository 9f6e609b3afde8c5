package dev.selectune.diffusion.golden;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.selectune.diffusion.vae.AutoencoderKL;
import dev.selectune.diffusion.vae.DiagonalGaussianDistribution;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code vae.encode.{mean,logvar,std}} from {@code vae.encode.image}, and {@code vae.decode.image} from
 * {@code vae.decode.latent} (raw decoder output, no scaling-factor division).
 */
public final class VaeGolden implements GoldenFamily {

    @Override
    public List<GoldenCheck> plan(GoldenCaseRun run) {
        List<GoldenCheck> checks = new ArrayList<>();
        List<String> encodeIn = List.of("vae.encode.image");
        for (String part : List.of("mean", "logvar", "std")) {
            String entry = "vae.encode." + part;
            if (run.has(entry)) {
                checks.add(GoldenCheck.of(entry, encodeIn, () -> {
                    DiagonalGaussianDistribution posterior = run.memo("vae.encode",
                            () -> vae(run).encode(run.tensor("vae.encode.image")));
                    return switch (part) {
                        case "mean" -> posterior.mean();
                        case "logvar" -> posterior.logvar();
                        default -> posterior.std();
                    };
                }));
            }
        }
        if (run.has("vae.decode.image")) {
            checks.add(GoldenCheck.of("vae.decode.image", List.of("vae.decode.latent"),
                    () -> vae(run).decode(run.tensor("vae.decode.latent"))));
        }
        return checks;
    }

    static AutoencoderKL vae(GoldenCaseRun run) {
        return run.memo("model:vae", () -> run.own(
                AutoencoderKL.load(run.folder().component("vae"), Device.cpu(), DataType.FLOAT32)));
    }
}
