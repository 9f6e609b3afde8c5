import sys, time, os, resource, torch
sys.path.insert(0, os.environ.get("DIFFUSERS_SRC", "diffusers/src"))
from diffusers import UNet2DConditionModel
from peft import LoraConfig
torch.manual_seed(0)
unet = UNet2DConditionModel(sample_size=64, cross_attention_dim=768, attention_head_dim=8,
    block_out_channels=(320, 640, 1280, 1280), layers_per_block=2,
    down_block_types=("CrossAttnDownBlock2D",)*3 + ("DownBlock2D",),
    up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",)*3)
unet.requires_grad_(False)
unet.add_adapter(LoraConfig(r=4, lora_alpha=4, init_lora_weights="gaussian", target_modules=["to_k", "to_q", "to_v", "to_out.0"]))
mode = sys.argv[1] if len(sys.argv) > 1 else "default"
x = torch.randn(1, 4, 64, 64); t = torch.tensor([500]); c = torch.randn(1, 77, 768); target = torch.randn(1, 4, 64, 64)
if mode == "cl":
    unet = unet.to(memory_format=torch.channels_last); x = x.contiguous(memory_format=torch.channels_last)
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096
with torch.no_grad():
    unet(x, t, c)
    t0 = time.perf_counter(); unet(x, t, c); fw = time.perf_counter() - t0
base = rss()
for i in range(2):
    t0 = time.perf_counter()
    loss = torch.nn.functional.mse_loss(unet(x, t, c).sample, target); loss.backward()
    bw = time.perf_counter() - t0
    unet.zero_grad(set_to_none=True)
print(f"{mode}: forward {fw:.2f} s; forward+backward {bw:.2f} s ({bw/fw:.2f}x); maxrss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/2**20:.2f} GiB, rss before bwd {base/2**30:.2f} GiB")
