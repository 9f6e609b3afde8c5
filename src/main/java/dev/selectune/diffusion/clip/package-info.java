/**
 * CLIP text encoders as transformers 4.38 computes them: {@link dev.selectune.diffusion.clip.CLIPTextModel}
 * (SD 1.x, SD 2.x, SDXL's first encoder) and {@link dev.selectune.diffusion.clip.CLIPTextModelWithProjection}
 * (SDXL's {@code text_encoder_2}). Classes are named after transformers' modules, and each loads the weights under
 * its module path, so checkpoint keys map one to one.
 */
package dev.selectune.diffusion.clip;
