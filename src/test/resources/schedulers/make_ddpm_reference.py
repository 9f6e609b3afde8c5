"""Writes ddpm_reference.json: diffusers' DDPMScheduler.set_timesteps and step outputs for fixed inputs.

Run from the repository root with torch and a diffusers source tree on the path, e.g.
    git --git-dir=<diffusers mirror> archive HEAD src/diffusers | tar -x -C /tmp/diffusers
    PYTHONPATH=/tmp/diffusers/src python3 src/test/resources/schedulers/make_ddpm_reference.py
step() draws its variance noise with randn_tensor(generator=...); the script replaces randn_tensor with a function
that returns the stored noise, so the expected outputs follow from the inputs in the file alone.
"""
import json
import pathlib
import re

import numpy as np
import torch

import diffusers
from diffusers import DDPMScheduler
import diffusers.schedulers.scheduling_ddpm as scheduling_ddpm

SD = {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012, "num_train_timesteps": 1000}

# (name, scheduler_config.json, num_inference_steps): SD's DDPM configs (epsilon and v, leading with offset 1, no
# clipping), and the other spacings, clipping with a range, diffusers' own defaults (linear betas, clip_sample=true,
# offset 0: the last timestep is 0, where no noise is added) and x0 prediction.
CASES = [
    ("sd15-epsilon-leading", dict(SD, steps_offset=1, clip_sample=False, prediction_type="epsilon",
                                  timestep_spacing="leading", variance_type="fixed_small", thresholding=False), 10),
    ("sd21-v-leading", dict(SD, steps_offset=1, clip_sample=False, prediction_type="v_prediction",
                            timestep_spacing="leading", variance_type="fixed_small", thresholding=False), 10),
    ("epsilon-trailing-clip1.5", dict(SD, clip_sample=True, clip_sample_range=1.5, prediction_type="epsilon",
                                      timestep_spacing="trailing"), 7),
    ("v-linspace-clip2", dict(SD, clip_sample=True, clip_sample_range=2.0, prediction_type="v_prediction",
                              timestep_spacing="linspace"), 6),
    ("defaults-sample", dict(prediction_type="sample"), 5),
]

# set_timesteps alone: (spacing, steps_offset, n) for each n.
SPACINGS = [("leading", 0), ("leading", 1), ("trailing", 0), ("linspace", 0)]
COUNTS = [1, 3, 7, 10, 25, 50, 999, 1000]

SHAPE = (1, 2, 2, 3)


def floats(t):
    return [float(v) for v in t.detach().to(torch.float32).flatten().tolist()]


def main():
    out = {"diffusers": diffusers.__version__, "torch": torch.__version__, "numpy": np.__version__,
           "shape": list(SHAPE), "cases": [], "timesteps": []}
    generator = torch.Generator().manual_seed(12)
    stored = {}
    scheduling_ddpm.randn_tensor = lambda shape, generator=None, device=None, dtype=None: stored["noise"].to(dtype)
    for name, config, n in CASES:
        scheduler = DDPMScheduler.from_config(dict(config, _class_name="DDPMScheduler"))
        scheduler.set_timesteps(n)
        timesteps = scheduler.timesteps.tolist()
        sample = torch.randn(SHAPE, generator=generator)
        steps = []
        for i, t in enumerate(timesteps):
            model_output = torch.randn(SHAPE, generator=generator)
            stored["noise"] = torch.randn(SHAPE, generator=generator)
            result = scheduler.step(model_output, t, sample)
            steps.append({"index": i, "timestep": t, "prev_timestep": int(scheduler.previous_timestep(t)),
                          "noise_added": t > 0, "model_output": floats(model_output), "sample": floats(sample),
                          "noise": floats(stored["noise"]), "prev_sample": floats(result.prev_sample),
                          "pred_original_sample": floats(result.pred_original_sample)})
            sample = result.prev_sample
        out["cases"].append({"name": name, "config": dict(config, _class_name="DDPMScheduler"),
                             "num_inference_steps": n, "timesteps": timesteps, "steps": steps})
    for spacing, offset in SPACINGS:
        for n in COUNTS:
            scheduler = DDPMScheduler(timestep_spacing=spacing, steps_offset=offset)
            scheduler.set_timesteps(n)
            timesteps = scheduler.timesteps.tolist()
            assert len(timesteps) == n, (spacing, n, len(timesteps))
            out["timesteps"].append({"timestep_spacing": spacing, "steps_offset": offset,
                                     "num_inference_steps": n, "timesteps": timesteps})
    target = pathlib.Path(__file__).with_name("ddpm_reference.json")
    # One line per list of numbers, so the file stays readable and its diffs small.
    text = json.dumps(out, indent=1)
    text = re.sub(r"\[[-0-9.e,\s]*\]", lambda m: re.sub(r"\s+", "", m.group(0)).replace(",", ", "), text)
    target.write_text(text + "\n")
    print("wrote", target)


if __name__ == "__main__":
    main()
