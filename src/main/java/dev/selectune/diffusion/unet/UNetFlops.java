package dev.selectune.diffusion.unet;

/**
 * The floating-point operations of one UNet forward, counted from the config: 2 per multiply-add of every
 * convolution, linear layer and attention matrix product (scores and weighted sum). Norms, activations, softmax and
 * additions are left out; they are a fraction of a percent of the total and memory-bound anyway.
 */
public final class UNetFlops {
    private final UNetConfig c;
    private final long contextTokens;
    private double total;

    private UNetFlops(UNetConfig c, long contextTokens) {
        this.c = c;
        this.contextTokens = contextTokens;
    }

    /**
     * @param latentHeight latent rows (image height / 8 for Stable Diffusion)
     * @param contextTokens tokens of the encoder hidden states (77)
     * @return FLOPs for a batch of one
     */
    public static double forward(UNetConfig config, long latentHeight, long latentWidth, long contextTokens) {
        UNetFlops f = new UNetFlops(config, contextTokens);
        f.count(latentHeight, latentWidth);
        return f.total;
    }

    private void count(long height, long width) {
        int[] ch = c.blockOutChannels();
        int levels = ch.length;
        long temb = c.timeEmbedDim();
        total += linear(ch[0], temb, 1) + linear(temb, temb, 1);
        if (c.hasTextTimeEmbedding()) {
            total += linear(c.projectionClassEmbeddingsInputDim(), temb, 1) + linear(temb, temb, 1);
        }
        long h = height;
        long w = width;
        total += conv(c.inChannels(), ch[0], c.convInKernel(), h * w);
        long[] hs = new long[levels];
        long[] ws = new long[levels];
        long out = ch[0];
        for (int i = 0; i < levels; i++) {
            hs[i] = h;
            ws[i] = w;
            long in = out;
            out = ch[i];
            boolean attn = c.downBlockTypes().get(i).equals("CrossAttnDownBlock2D");
            for (int l = 0; l < c.layersPerBlock()[i]; l++) {
                total += resnet(l == 0 ? in : out, out, h * w);
                if (attn) {
                    total += transformer(out, c.transformerLayersPerBlock()[i][l], c.crossAttentionDim()[i], h * w);
                }
            }
            if (i < levels - 1) {
                h = (h + 1) / 2;
                w = (w + 1) / 2;
                total += conv(out, out, 3, h * w);
            }
        }
        long deep = ch[levels - 1];
        total += 2 * resnet(deep, deep, h * w)
                + transformer(deep, c.transformerLayersPerBlock()[levels - 1][0], c.crossAttentionDim()[levels - 1], h * w);
        long upOut = deep;
        for (int i = 0; i < levels; i++) {
            int level = levels - 1 - i;
            long prev = upOut;
            upOut = ch[level];
            long in = ch[Math.max(level - 1, 0)];
            long hw = hs[level] * ws[level];
            boolean attn = c.upBlockTypes().get(i).equals("CrossAttnUpBlock2D");
            int layers = c.layersPerBlock()[level] + 1;
            for (int l = 0; l < layers; l++) {
                long skip = l == layers - 1 ? in : upOut;
                total += resnet((l == 0 ? prev : upOut) + skip, upOut, hw);
                if (attn) {
                    total += transformer(upOut, c.reverseTransformerLayersPerBlock()[i][l], c.crossAttentionDim()[level], hw);
                }
            }
            if (i < levels - 1) {
                total += conv(upOut, upOut, 3, hs[level - 1] * ws[level - 1]);
            }
        }
        total += conv(ch[0], c.outChannels(), c.convOutKernel(), height * width);
    }

    private double resnet(long in, long out, long hw) {
        double f = conv(in, out, 3, hw) + conv(out, out, 3, hw) + linear(c.timeEmbedDim(), out, 1);
        return in != out ? f + conv(in, out, 1, hw) : f;
    }

    private double transformer(long channels, int layers, long crossDim, long hw) {
        double f = 2 * linear(channels, channels, hw);
        for (int l = 0; l < layers; l++) {
            f += 4 * linear(channels, channels, hw) + 2.0 * 2 * hw * hw * channels;
            f += 2 * linear(channels, channels, hw) + 2 * linear(crossDim, channels, contextTokens)
                    + 2.0 * 2 * hw * contextTokens * channels;
            f += linear(channels, 8 * channels, hw) + linear(4 * channels, channels, hw);
        }
        return f;
    }

    private static double conv(long in, long out, int kernel, long outPixels) {
        return 2.0 * in * out * kernel * kernel * outPixels;
    }

    private static double linear(long in, long out, long rows) {
        return 2.0 * in * out * rows;
    }
}
