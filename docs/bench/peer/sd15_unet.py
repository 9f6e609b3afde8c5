# The peer's model, shared by the scripts here: diffusers' SD1.5 UNet2DConditionModel with random weights, and
# optionally the peft LoRA our trainer trains (r 4 on to_q/k/v/out.0), the base frozen.
import os, sys
sys.path.insert(0, os.environ.get("DIFFUSERS_SRC", "diffusers/src"))
from diffusers import UNet2DConditionModel


def sd15_unet(lora=False):
    unet = UNet2DConditionModel(sample_size=64, cross_attention_dim=768, attention_head_dim=8,
        block_out_channels=(320, 640, 1280, 1280), layers_per_block=2,
        down_block_types=("CrossAttnDownBlock2D",)*3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",)*3)
    if lora:
        from peft import LoraConfig
        unet.requires_grad_(False)
        unet.add_adapter(LoraConfig(r=4, lora_alpha=4, init_lora_weights="gaussian",
                                    target_modules=["to_k", "to_q", "to_v", "to_out.0"]))
    return unet
