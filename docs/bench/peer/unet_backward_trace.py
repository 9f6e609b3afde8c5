# Peer measurement: one forward + backward into the LoRA of diffusers' SD1.5 UNet (random fp32 weights, LoRA r4 on
# to_q/k/v/out.0) under torch.profiler, written as a Chrome trace to compare op by op with `bench unet --trace`
# (docs/bench/peer/trace_summary.py reads both). Usage: unet_backward_trace.py OUT.json [resolution] [cl]
import os, sys, torch
from sd15_unet import sd15_unet
from torch.profiler import profile, ProfilerActivity
torch.manual_seed(0)
out = sys.argv[1]; res = int(sys.argv[2]) if len(sys.argv) > 2 else 512
unet = sd15_unet(lora=True)
x = torch.randn(1, 4, res // 8, res // 8); t = torch.tensor([500]); c = torch.randn(1, 77, 768); target = torch.randn_like(x)
if "cl" in sys.argv[3:]:
    unet = unet.to(memory_format=torch.channels_last); x = x.contiguous(memory_format=torch.channels_last)
def step():
    torch.nn.functional.mse_loss(unet(x, t, c).sample, target).backward()
    unet.zero_grad(set_to_none=True)
step()
with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
    step()
prof.export_chrome_trace(out)
