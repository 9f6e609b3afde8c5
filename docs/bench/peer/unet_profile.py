# Peer measurement: diffusers' SD1.5 UNet on torch (random fp32 weights), no-grad forward at 512 px, by op kind.
import os, sys, time, json, resource, torch
from sd15_unet import sd15_unet
torch.manual_seed(0)
res = int(sys.argv[1]) if len(sys.argv) > 1 else 512
unet = sd15_unet().eval()
x = torch.randn(1, 4, res // 8, res // 8); t = torch.tensor([500]); c = torch.randn(1, 77, 768)
a = torch.randn(2048, 2048); b = torch.randn(2048, 2048)
for _ in range(2): a @ b
t0 = time.perf_counter(); n = 5
for _ in range(n): a @ b
mm = n * 2 * 2048**3 / (time.perf_counter() - t0)
with torch.no_grad():
    unet(x, t, c)
    c0 = time.process_time(); t0 = time.perf_counter(); unet(x, t, c); fw = time.perf_counter() - t0; cpu = time.process_time() - c0
    from torch.profiler import profile, ProfilerActivity
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        unet(x, t, c)
kinds = {}
for e in prof.key_averages():
    n = e.key
    k = ("convolution" if "conv" in n or "mkldnn_convolution" in n else "linear" if n in ("aten::addmm", "aten::mm", "aten::linear", "aten::bmm", "aten::matmul") else
         "attention" if "attention" in n or "flash" in n else "normalization" if "norm" in n else
         "copies" if n in ("aten::copy_", "aten::contiguous", "aten::clone", "aten::to", "aten::_to_copy", "aten::cat") else None)
    if k is None:
        continue
    kinds.setdefault(k, {})[n] = round(e.self_cpu_time_total / 1e6, 3)
print(json.dumps({"torch": torch.__version__, "res": res, "matmul_gflops": mm / 1e9, "forward_s": fw, "cores_busy": cpu / fw,
                  "fraction_of_matmul": 803.27e9 * (res / 512) ** 2 / fw / mm if res == 512 else None,
                  "profile_self_s": kinds}, indent=1))
print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=18))
