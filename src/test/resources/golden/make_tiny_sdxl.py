"""Reference script of the tiny-sdxl golden case (see README.md and REFERENCE.md next to it).

Builds a tiny SDXL-like pipeline the way diffusers' own tests do (tests/pipelines/stable_diffusion_xl: a UNet with
addition_embed_type "text_time", a CLIPTextModel and a CLIPTextModelWithProjection), re-initialises every
parameter with the conventions of the SD 1.x cases, saves it with save_pretrained in the diffusers folder layout and
writes golden.safetensors / golden.json with the same entry kinds as those cases plus the SDXL ones:

    text2.*                       the second encoder (input_ids, hidden_states.N, last_hidden_state, text_embeds)
    text.sdxl_prompt_embeds       both encoders' hidden_states[-2] concatenated on the last dimension
    text.sdxl_pooled_prompt_embeds the second encoder's text_embeds
    unet.text_embeds, unet.time_ids   the UNet's added_cond_kwargs (inputs)
    unet.debug_16x24.add_time_proj / add_embedding   the text_time embedding taps
    pipe.pooled_prompt_embeds, pipe.negative_pooled_prompt_embeds, pipe.add_time_ids

Run (from the repository root, CPU, fp32; needs torch, transformers, safetensors and diffusers' source):

    PYTHONPATH=/path/to/diffusers/src python3 src/test/resources/golden/make_tiny_sdxl.py src/test/resources/golden/tiny-sdxl

The tokenizers are the tiny cases' (tiny-sd15's for tokenizer, tiny-sd21v's, which pads with "!", for tokenizer_2,
as in SDXL). Running it twice gives the same files, byte for byte except the order of the LoRA file's
metadata keys (safetensors writes its metadata map in hash order).
"""
import json
import os
import platform
import shutil
import sys

import numpy as np
import torch
from safetensors.torch import load_file, save_file

import diffusers
import transformers
from diffusers import (AutoencoderKL, DDIMScheduler, DDPMScheduler, EulerDiscreteScheduler,
                       StableDiffusionXLPipeline, UNet2DConditionModel)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

CASE_SEED = 3000
PROMPTS = ["a photo of sks dog", "A painting of a squirrel eating a burger, highly detailed!"]
HERE = os.path.dirname(os.path.abspath(__file__))

# SDXL base's scheduler_config.json (a converted DDIM/PNDM config, hence the extra keys), shrunk to nothing.
SCHEDULER_CONFIG = {
    "_class_name": "EulerDiscreteScheduler",
    "_diffusers_version": "0.19.0.dev0",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "clip_sample": False,
    "interpolation_type": "linear",
    "num_train_timesteps": 1000,
    "prediction_type": "epsilon",
    "sample_max_value": 1.0,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "timestep_spacing": "leading",
    "trained_betas": None,
    "use_karras_sigmas": False,
}


def reinit(module, seed):
    """The SD 1.x cases' re-initialisation, so that no tensor is zero (zero_module convs) or tiny."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, mod in module.named_modules():
            for pname, p in mod.named_parameters(recurse=False):
                if isinstance(mod, (torch.nn.GroupNorm, torch.nn.LayerNorm)):
                    base = 1.0 if pname == "weight" else 0.0
                    p.copy_(base + 0.1 * torch.randn(p.shape, generator=g))
                elif isinstance(mod, torch.nn.Embedding):
                    p.copy_(0.2 * torch.randn(p.shape, generator=g))
                elif pname == "bias":
                    p.copy_(0.05 * torch.randn(p.shape, generator=g))
                else:
                    fan_in = int(np.prod(p.shape[1:])) if p.dim() > 1 else p.shape[0]
                    std = min(max(1.0 / fan_in ** 0.5, 0.02), 0.2)
                    p.copy_(std * torch.randn(p.shape, generator=g))


def build(folder):
    text_config = CLIPTextConfig(bos_token_id=0, eos_token_id=2, pad_token_id=1, vocab_size=1000,
                                 max_position_embeddings=77, hidden_size=16, intermediate_size=37,
                                 num_attention_heads=2, num_hidden_layers=2, hidden_act="quick_gelu",
                                 layer_norm_eps=1e-5, projection_dim=16)
    text2_config = CLIPTextConfig(bos_token_id=0, eos_token_id=2, pad_token_id=1, vocab_size=1000,
                                  max_position_embeddings=77, hidden_size=24, intermediate_size=48,
                                  num_attention_heads=3, num_hidden_layers=3, hidden_act="gelu",
                                  layer_norm_eps=1e-5, projection_dim=16)
    text_encoder = CLIPTextModel(text_config).eval()
    text_encoder_2 = CLIPTextModelWithProjection(text2_config).eval()
    unet = UNet2DConditionModel(
        sample_size=16, in_channels=4, out_channels=4, layers_per_block=1,
        block_out_channels=(8, 16, 16), norm_num_groups=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 2, 4), transformer_layers_per_block=(1, 1, 2), use_linear_projection=True,
        cross_attention_dim=16 + 24, addition_embed_type="text_time", addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=6 * 8 + 16).eval()
    vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 16),
                        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                        layers_per_block=1, norm_num_groups=4, sample_size=32, scaling_factor=0.13025,
                        force_upcast=True).eval()
    reinit(text_encoder, CASE_SEED + 2)
    reinit(unet, CASE_SEED + 3)
    reinit(text_encoder_2, CASE_SEED + 4)
    reinit(vae, CASE_SEED + 5)
    tokenizer = CLIPTokenizer.from_pretrained(os.path.join(HERE, "tiny-sd15", "tokenizer"))
    tokenizer_2 = CLIPTokenizer.from_pretrained(os.path.join(HERE, "tiny-sd21v", "tokenizer"))
    scheduler = EulerDiscreteScheduler.from_config(SCHEDULER_CONFIG)
    pipe = StableDiffusionXLPipeline(vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2,
                                     tokenizer=tokenizer, tokenizer_2=tokenizer_2, unet=unet, scheduler=scheduler,
                                     force_zeros_for_empty_prompt=True, add_watermarker=False)
    pipe.save_pretrained(folder, safe_serialization=True)
    # The tokenizer files are the tiny cases' own, byte for byte; the scheduler config is SDXL base's.
    for name, source in (("tokenizer", "tiny-sd15"), ("tokenizer_2", "tiny-sd21v")):
        shutil.rmtree(os.path.join(folder, name))
        shutil.copytree(os.path.join(HERE, source, "tokenizer"), os.path.join(folder, name))
    # transformers 5 saves a CLIPTextModel's keys without the "text_model." prefix that every published SD/SDXL
    # checkpoint (and transformers 4) uses; write the published naming (transformers 5 loads either).
    for name in ("text_encoder", "text_encoder_2"):
        path = os.path.join(folder, name, "model.safetensors")
        state = load_file(path)
        if not all(k.startswith(("text_model.", "text_projection.")) for k in state):
            state = {k if k.startswith(("text_model.", "text_projection.")) else "text_model." + k: v
                     for k, v in state.items()}
            save_file(state, path, metadata={"format": "pt"})
    with open(os.path.join(folder, "scheduler", "scheduler_config.json"), "w") as f:
        json.dump(SCHEDULER_CONFIG, f, indent=2, sort_keys=True)
        f.write("\n")
    reloaded = StableDiffusionXLPipeline.from_pretrained(folder, add_watermarker=False)
    for name in ("unet", "vae", "text_encoder", "text_encoder_2"):
        a, b = getattr(pipe, name).state_dict(), getattr(reloaded, name).state_dict()
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
    return reloaded


class LoraLinear(torch.nn.Module):
    """PEFT's lora.Linear with dropout 0: y = W x + b + (alpha / r) * B (A x)."""

    def __init__(self, base, rank, alpha, g):
        super().__init__()
        self.base = base
        self.scaling = alpha / rank
        std_a = min(max(1.0 / base.in_features ** 0.5, 0.02), 0.2)
        self.lora_A = torch.nn.Parameter(std_a * torch.randn(rank, base.in_features, generator=g))
        self.lora_B = torch.nn.Parameter(0.5 / rank ** 0.5 * torch.randn(base.out_features, rank, generator=g))

    def forward(self, x):
        return self.base(x) + self.scaling * torch.nn.functional.linear(torch.nn.functional.linear(x, self.lora_A),
                                                                         self.lora_B)


def attach_lora(unet, rank, alpha, g):
    wrapped = {}
    targets = ("to_q", "to_k", "to_v", "to_out.0")
    names = [n for n, m in unet.named_modules() if isinstance(m, torch.nn.Linear) and n.endswith(targets)
             and ".attn" in n]
    for name in sorted(names):
        parent_name, child = name.rsplit(".", 1)
        parent = unet.get_submodule(parent_name)
        lora = LoraLinear(getattr(parent, child), rank, alpha, g)
        setattr(parent, child, lora)
        wrapped[name] = lora
    return wrapped


def stats(t):
    a = t.detach().double()
    return {"mean": a.mean().item(), "std": a.std().item() if a.numel() > 1 else 0.0, "min": a.min().item(),
            "max": a.max().item(), "max_abs": a.abs().max().item()}


def main(folder):
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    if os.path.exists(folder):
        shutil.rmtree(folder)
    pipe = build(folder)
    unet, vae = pipe.unet, pipe.vae
    entries, tensors = {}, {}

    def put(name, tensor, description):
        t = tensor.detach().contiguous()
        t = t.to(torch.int64) if not t.is_floating_point() else t.to(torch.float32)
        tensors[name] = t.clone()
        info = {"shape": list(t.shape), "dtype": "int64" if t.dtype == torch.int64 else "float32",
                "description": description}
        if t.dtype == torch.int64:
            info["values"] = t.tolist()
        else:
            info["stats"] = stats(t)
        entries[name] = info

    with torch.no_grad():
        # Text encoders: the SD 1.x entries under text., the second encoder's under text2.
        for prefix, tok, enc in (("text", pipe.tokenizer, pipe.text_encoder),
                                 ("text2", pipe.tokenizer_2, pipe.text_encoder_2)):
            ids = tok(PROMPTS, padding="max_length", max_length=tok.model_max_length, truncation=True,
                      return_tensors="pt").input_ids
            put(f"{prefix}.input_ids", ids, f"{type(enc).__name__}'s tokenizer applied to the prompts, padded to 77"
                f" with {tok.pad_token!r} (id {tok.pad_token_id})")
            out = enc(ids, output_hidden_states=True)
            for i, h in enumerate(out.hidden_states):
                put(f"{prefix}.hidden_states.{i}", h, f"hidden_states[{i}]: 0 = embeddings, i = output of encoder"
                    " layer i-1 (no final LN)")
            put(f"{prefix}.last_hidden_state", out.last_hidden_state, "last_hidden_state (after final_layer_norm)")
            if prefix == "text":
                put("text.pooler_output", out.pooler_output, "pooler_output = last_hidden_state[b, argmax(ids[b])]")
            else:
                put("text2.text_embeds", out.text_embeds, "text_projection(pooler_output): the pooled SDXL"
                    " conditioning")
        embeds, _, pooled, _ = pipe.encode_prompt(PROMPTS, device="cpu", num_images_per_prompt=1,
                                                  do_classifier_free_guidance=False)
        manual = torch.cat([tensors["text.hidden_states.1"], tensors["text2.hidden_states.2"]], dim=-1)
        assert torch.equal(embeds, manual) and torch.equal(pooled, tensors["text2.text_embeds"])
        put("text.sdxl_prompt_embeds", embeds, "StableDiffusionXLPipeline.encode_prompt(prompts).prompt_embeds:"
            " cat(text.hidden_states[-2], text2.hidden_states[-2], dim=-1)")
        put("text.sdxl_pooled_prompt_embeds", pooled, "encode_prompt(prompts).pooled_prompt_embeds ="
            " text2.text_embeds")

        # UNet with the text_time added conditions.
        g = torch.Generator().manual_seed(CASE_SEED + 10)
        sample = torch.randn(2, 4, 16, 16, generator=g)
        timestep = torch.tensor([999, 17])
        context = torch.randn(2, 77, 40, generator=g)
        text_embeds = torch.randn(2, 16, generator=g)
        time_ids = torch.tensor([[32.0, 32.0, 0.0, 0.0, 32.0, 32.0], [1024.0, 768.0, 16.0, 48.0, 896.0, 640.0]])
        added = {"text_embeds": text_embeds, "time_ids": time_ids}
        sample_16x24 = torch.randn(2, 4, 16, 24, generator=g)
        put("unet.sample", sample, "UNet input latent (2,4,16,16)")
        put("unet.timestep", timestep, "per-item timesteps (int64) [999, 17]")
        put("unet.encoder_hidden_states", context, "(2,77,40) random conditioning")
        put("unet.text_embeds", text_embeds, "added_cond_kwargs['text_embeds'] (2,16), random pooled text")
        put("unet.time_ids", time_ids, "added_cond_kwargs['time_ids'] (2,6): original size, crop top-left,"
            " target size; a different row per item")
        put("unet.out", unet(sample, timestep, context, added_cond_kwargs=added).sample,
            "UNet2DConditionModel(sample, timestep, encoder_hidden_states, added_cond_kwargs).sample")
        put("unet.sample_16x24", sample_16x24, "UNet input at a resolution different from sample_size")
        taps, hooks = {}, []

        def tap(name, reshape=None):
            def hook(module, args, output):
                value = output[0] if isinstance(output, tuple) else output
                taps[name] = (reshape(value) if reshape else value)[0:1].clone()
            return hook

        hooks.append(unet.time_proj.register_forward_hook(tap("time_proj")))
        hooks.append(unet.time_embedding.register_forward_hook(tap("time_embedding")))
        hooks.append(unet.add_time_proj.register_forward_hook(tap("add_time_proj", lambda v: v.reshape(2, -1))))
        hooks.append(unet.add_embedding.register_forward_hook(tap("add_embedding")))
        hooks.append(unet.conv_in.register_forward_hook(tap("conv_in")))
        for i, b in enumerate(unet.down_blocks):
            hooks.append(b.register_forward_hook(tap(f"down_blocks.{i}")))
        hooks.append(unet.mid_block.register_forward_hook(tap("mid_block")))
        for i, b in enumerate(unet.up_blocks):
            hooks.append(b.register_forward_hook(tap(f"up_blocks.{i}")))
        hooks.append(unet.conv_norm_out.register_forward_hook(tap("conv_norm_out")))
        put("unet.out_16x24", unet(sample_16x24, timestep, context, added_cond_kwargs=added).sample,
            "UNet output for unet.sample_16x24 (same timestep / encoder_hidden_states / added conds)")
        for h in hooks:
            h.remove()
        what = {
            "time_proj": "Timesteps(flip_sin_to_cos=True, downscale_freq_shift=0) output",
            "time_embedding": "TimestepEmbedding output = 'emb' before the added (SDXL) embedding",
            "add_time_proj": "add_time_proj(time_ids.flatten()).reshape(B, -1): the 6 time ids' sinusoidal"
                             " embeddings side by side (6 x addition_time_embed_dim)",
            "add_embedding": "add_embedding(cat(text_embeds, add_time_proj)): the text_time embedding added to emb",
            "conv_in": "conv_in output", "mid_block": "mid_block output", "conv_norm_out":
                "conv_norm_out (GroupNorm) output, before SiLU and conv_out"}
        for name, value in taps.items():
            put(f"unet.debug_16x24.{name}", value, what.get(name, f"{name} output hidden_states")
                + "; batch item 0 of the unet.sample_16x24 forward (t=999)")

    # LoRA on every attention projection, rank 4, alpha 4.
    g = torch.Generator().manual_seed(CASE_SEED + 20)
    lora_unet = UNet2DConditionModel.from_pretrained(os.path.join(folder, "unet")).eval()
    for p in lora_unet.parameters():
        p.requires_grad_(False)
    wrapped = attach_lora(lora_unet, 4, 4, g)
    lora_out = lora_unet(sample, timestep, context, added_cond_kwargs=added).sample
    target = torch.randn(lora_out.shape, generator=g)
    loss = torch.nn.functional.mse_loss(lora_out, target)
    loss.backward()
    lora_tensors = {}
    for name, m in wrapped.items():
        for part in ("A", "B"):
            key = f"unet.{name}.lora_{part}.weight"
            lora_tensors[key] = getattr(m, f"lora_{part}").detach().clone().contiguous()
            put(f"lora.grad.{key}", getattr(m, f"lora_{part}").grad, f"d lora.loss / d {key}")
    save_file(lora_tensors, os.path.join(folder, "pytorch_lora_weights.safetensors"),
              metadata={"format": "pt", "lora_rank": "4", "lora_alpha": "4",
                        "target_modules": "to_q,to_k,to_v,to_out.0", "scale": "1.0"})
    put("lora.out", lora_out, "UNet output for (unet.sample, unet.timestep, unet.encoder_hidden_states, unet.text_embeds,"
        " unet.time_ids) with pytorch_lora_weights.safetensors applied, scale 1.0")
    put("lora.target", target, "random target for the loss")
    put("lora.loss", loss.reshape(1), "loss = mean((lora.out - lora.target)^2)")
    lora_facts = {"n_modules": len(wrapped),
                  "lora_vs_base_max_abs_diff": (lora_out - tensors["unet.out"]).abs().max().item()}

    with torch.no_grad():
        # VAE (SDXL's scaling factor; force_upcast changes nothing in fp32).
        g = torch.Generator().manual_seed(CASE_SEED + 30)
        image = torch.rand(1, 3, 32, 32, generator=g) * 2 - 1
        dist = vae.encode(image).latent_dist
        put("vae.encode.image", image, "input image (1,3,32,32) in [-1,1]")
        put("vae.encode.mean", dist.mean, "latent_dist.mean")
        put("vae.encode.logvar", dist.logvar, "latent_dist.logvar (clamped to [-30,20])")
        put("vae.encode.std", dist.std, "latent_dist.std = exp(0.5*logvar)")
        latent = torch.randn(1, 4, 16, 16, generator=g)
        put("vae.decode.latent", latent, "latent fed to vae.decode (NOT divided by scaling_factor)")
        put("vae.decode.image", vae.decode(latent).sample, "vae.decode(latent).sample (raw)")

        # Schedulers built from the case's (Euler) scheduler config, as in the SD 1.x cases.
        g = torch.Generator().manual_seed(CASE_SEED + 40)
        ddpm = DDPMScheduler.from_config(pipe.scheduler.config)
        put("sched.betas", ddpm.betas, "DDPMScheduler.betas (1000,)")
        put("sched.alphas_cumprod", ddpm.alphas_cumprod, "DDPMScheduler.alphas_cumprod (1000,), float32")
        x0 = torch.randn(4, 4, 8, 8, generator=g)
        noise = torch.randn(4, 4, 8, 8, generator=g)
        ts = torch.tensor([0, 17, 500, 999])
        put("ddpm.original_samples", x0, "input x0 for add_noise/get_velocity")
        put("ddpm.noise", noise, "input noise for add_noise/get_velocity")
        put("ddpm.timesteps", ts, "per-item timesteps (int64)")
        put("ddpm.noisy_samples", ddpm.add_noise(x0, noise, ts), "DDPMScheduler.add_noise(x0, noise, t)")
        put("ddpm.velocity", ddpm.get_velocity(x0, noise, ts), "DDPMScheduler.get_velocity(x0, noise, t)")
        ddim = DDIMScheduler.from_config(pipe.scheduler.config)
        ddim.set_timesteps(10)
        outputs = torch.randn(10, 1, 4, 8, 8, generator=g)
        samples = [torch.randn(1, 4, 8, 8, generator=g)]
        originals = []
        for i, t in enumerate(ddim.timesteps):
            out = ddim.step(outputs[i], t, samples[-1], eta=0.0)
            samples.append(out.prev_sample)
            originals.append(out.pred_original_sample)
        put("ddim.timesteps", ddim.timesteps, "DDIMScheduler.set_timesteps(10).timesteps (int64)")
        put("ddim.model_outputs", outputs, "fixed 'model output' fed at step i")
        put("ddim.samples", torch.stack(samples), "samples[i+1] = DDIMScheduler.step(model_outputs[i],"
            " timesteps[i], samples[i], eta=0).prev_sample")
        put("ddim.pred_original_samples", torch.stack(originals), "step(...).pred_original_sample of each step")

        # The end-to-end SDXL pipeline (Euler from the folder's config, no negative prompt: zeros).
        g = torch.Generator().manual_seed(CASE_SEED + 50)
        call = {"prompt": PROMPTS[0], "negative_prompt": None, "height": 32, "width": 32,
                "num_inference_steps": 4, "guidance_scale": 5.0, "eta": 0.0}
        latents_in = torch.randn(1, 4, 16, 16, generator=g)
        pe, npe, ppe, nppe = pipe.encode_prompt(call["prompt"], device="cpu", num_images_per_prompt=1,
                                                do_classifier_free_guidance=True, negative_prompt=None)
        put("pipe.prompt_embeds", pe, "encode_prompt(prompt).prompt_embeds (1,77,40)")
        put("pipe.negative_prompt_embeds", npe, "negative prompt None + force_zeros_for_empty_prompt: zeros")
        put("pipe.pooled_prompt_embeds", ppe, "encode_prompt(prompt).pooled_prompt_embeds (1,16)")
        put("pipe.negative_pooled_prompt_embeds", nppe, "zeros (force_zeros_for_empty_prompt)")
        put("pipe.add_time_ids", pipe._get_add_time_ids((32, 32), (0, 0), (32, 32), torch.float32,
                                                        text_encoder_projection_dim=16),
            "_get_add_time_ids(original (32,32), crop (0,0), target (32,32)) (1,6)")
        result = pipe(prompt=call["prompt"], negative_prompt=None, height=32, width=32, num_inference_steps=4,
                      guidance_scale=5.0, latents=latents_in.clone(), output_type="latent").images
        raw = vae.decode(result / vae.config.scaling_factor).sample
        put("pipe.latents_in", latents_in, "initial latents passed to the pipeline (it multiplies them by the"
            " scheduler's init_noise_sigma)")
        put("pipe.latents_out", result, "final latents after 4 Euler steps with CFG 5.0 (output_type='latent')")
        put("pipe.image_raw", raw, "vae.decode(latents_out / scaling_factor).sample")
        put("pipe.image", (raw / 2 + 0.5).clamp(0, 1), "clamp(image_raw/2+0.5, 0, 1)")

    save_file(dict(sorted(tensors.items())), os.path.join(folder, "golden.safetensors"), metadata={"format": "pt"})
    golden = {
        "case": os.path.basename(os.path.normpath(folder)),
        "generator": "src/test/resources/golden/make_tiny_sdxl.py",
        "versions": {"diffusers": diffusers.__version__, "transformers": transformers.__version__,
                     "torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version()},
        "seeds": {"case_seed": CASE_SEED},
        "tolerance": {"components": "max|java - ref| <= 1e-4 * max(1, max|ref|) per tensor",
                      "pipeline": "pipe.latents_out / pipe.image_raw / pipe.image: 1e-3 * max(1, max|ref|)",
                      "gradients": "lora.grad.*: max|java - ref| <= 1e-3 * max|ref| per tensor"},
        "prompts": PROMPTS,
        "lora": lora_facts,
        "pipeline_call": dict(call, scheduler="EulerDiscreteScheduler from scheduler/scheduler_config.json"),
        "entries": dict(sorted(entries.items())),
    }
    with open(os.path.join(folder, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "tiny-sdxl"))
