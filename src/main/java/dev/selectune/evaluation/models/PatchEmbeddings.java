package dev.selectune.evaluation.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.nn.Conv2d;
import dev.selectune.diffusion.nn.Scopes;
import dev.selectune.diffusion.nn.Weights;

/**
 * Patchify with a patch x patch / stride-patch convolution, prepend the class token, add the learned position
 * embeddings: CLIP's {@code CLIPVisionEmbeddings} (conv without bias, {@code class_embedding} (D),
 * {@code position_embedding.weight} (P+1, D)) and ViT's {@code ViTEmbeddings} (conv with bias under
 * {@code patch_embeddings.projection}, {@code cls_token} (1, 1, D), {@code position_embeddings} (1, P+1, D)).
 */
public final class PatchEmbeddings {
    private final Conv2d patch;
    private final NDArray classToken;
    private final NDArray positions;
    private final VisionConfig config;

    private PatchEmbeddings(Conv2d patch, NDArray classToken, NDArray positions, VisionConfig config) {
        this.patch = patch;
        this.classToken = classToken;
        this.positions = positions;
        this.config = config;
    }

    public static PatchEmbeddings loadClip(Weights w, VisionConfig c) {
        int d = c.hiddenSize();
        NDArray conv = w.get("patch_embedding.weight", d, c.numChannels(), c.patchSize(), c.patchSize());
        NDArray cls = w.get("class_embedding", d).reshape(1, 1, d);
        NDArray pos = w.get("position_embedding.weight", c.numPositions(), d).reshape(1, c.numPositions(), d);
        // Checkpoints written by older transformers store the constant position_ids buffer (arange); it carries nothing.
        if (w.has("position_ids") && !w.isRandom()) {
            w.get("position_ids", 1, c.numPositions()).close();
        }
        return new PatchEmbeddings(new Conv2d(conv, null, c.patchSize(), 0), cls, pos, c);
    }

    public static PatchEmbeddings loadVit(Weights w, VisionConfig c) {
        int d = c.hiddenSize();
        Weights proj = w.child("patch_embeddings").child("projection");
        Conv2d conv = new Conv2d(proj.get("weight", d, c.numChannels(), c.patchSize(), c.patchSize()),
                proj.get("bias", d), c.patchSize(), 0);
        NDArray cls = w.get("cls_token", 1, 1, d);
        NDArray pos = w.get("position_embeddings", 1, c.numPositions(), d);
        return new PatchEmbeddings(conv, cls, pos, c);
    }

    /** @param pixels (B, C, H, W) at the config's image size; returns (B, 1 + patches, D) */
    public NDArray forward(NDArray pixels) {
        Shape s = pixels.getShape();
        config.requireInput(s.get(1), s.get(2), s.get(3));
        long b = s.get(0);
        return Scopes.run(() -> {
            NDArray patches = patch.forward(pixels);
            NDArray tokens = patches.reshape(b, config.hiddenSize(), -1).transpose(0, 2, 1);
            NDArray cls = classToken.broadcast(new Shape(b, 1, config.hiddenSize()));
            return NDArrays.concat(new NDList(cls, tokens), 1).add(positions);
        });
    }
}
