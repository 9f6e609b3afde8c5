import sys, time, os, resource, torch
from sd15_unet import sd15_unet
torch.manual_seed(0)
unet = sd15_unet(lora=True)
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
