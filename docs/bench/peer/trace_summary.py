# Self time by op name in a Chrome trace from `bench unet --trace` or unet_backward_trace.py, split into the forward
# and the backward (everything from the first autograd engine event on). Usage: trace_summary.py TRACE.json [rows]
import json, sys, collections
d = json.load(open(sys.argv[1])); rows = int(sys.argv[2]) if len(sys.argv) > 2 else 25
ev = [e for e in (d["traceEvents"] if isinstance(d, dict) else d) if e.get("ph") == "X" and "dur" in e]
start = min(e["ts"] for e in ev); end = max(e["ts"] + e["dur"] for e in ev)
bwd = min((e["ts"] for e in ev if e["name"].startswith("autograd::engine")), default=end)
self_time = {"forward": collections.Counter(), "backward": collections.Counter()}; calls = collections.Counter()
threads = collections.defaultdict(list)
for e in ev:
    threads[(e.get("pid"), e.get("tid"))].append(e)
for es in threads.values():
    es.sort(key=lambda e: (e["ts"], -e["dur"])); stack = []
    for e in es:
        while stack and stack[-1]["ts"] + stack[-1]["dur"] <= e["ts"]:
            stack.pop()
        phase = "backward" if e["ts"] >= bwd else "forward"
        if stack:
            self_time[phase][stack[-1]["name"]] -= e["dur"]
        self_time[phase][e["name"]] += e["dur"]; calls[(phase, e["name"])] += 1
        stack.append(e)
print(f"span {(end - start) / 1e6:.2f} s: forward {(bwd - start) / 1e6:.2f} s, backward {(end - bwd) / 1e6:.2f} s")
for phase, counter in self_time.items():
    print(f"-- {phase}: self seconds, calls")
    for name, us in counter.most_common(rows):
        print(f"{us / 1e6:8.3f} {calls[(phase, name)]:6d}  {name}")
