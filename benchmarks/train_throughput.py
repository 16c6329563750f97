"""Training-step throughput of SI-CLEER with the joint loss: bfloat16 against float32.

One joint step: two random overlapping crops through the encoder (masked), the hierarchical
contrastive loss on their overlap, cross-entropy on the whole window, backward, Adam. Batch 64
one-second windows of 62 channels (200 samples), encoder 64/320 (the paper's), 2 CPU threads
by default. Two variants run in the same process, from the same seed:

- ``fp32``: the plain eager float32 step (``--precision fp32``): the baseline;
- ``bf16``: the same step with bfloat16 autocast of the encoder and head
  (``--precision bf16``; the contrastive loss and the optimizer stay float32).

Prints windows/s, ms/step, the ratio to the baseline and the largest relative difference of
the per-step losses from the baseline's over all steps (bfloat16 is judged by the accuracy of
full runs, docs/RESULTS.md, not by this difference). On CUDA, when present, both again.

    .venv/bin/python benchmarks/train_throughput.py [--steps 20] [--batch 64] [--threads 2]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch
import torch.nn.functional as F

from models import SICLEER, ModelConfig
from models.device import autocast, device_name
from offline_training.config import TrainConfig
from offline_training.train import contrastive_step

VARIANTS = ("fp32", "bf16")


def bench(device: torch.device, variant: str, batch: int, steps: int, warmup: int = 3,
          hidden: int = 64, output: int = 320) -> dict[str, object]:
    """``warmup`` + ``steps`` joint steps of ``variant``; throughput, memory, step losses."""
    torch.manual_seed(0)
    net = SICLEER(ModelConfig(n_channels=62, hidden_dims=hidden, output_dims=output)).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    cfg = TrainConfig(data=".", out=".")
    rng = np.random.default_rng(0)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(batch, 200, 62, generator=gen).to(device)
    y = torch.randint(0, 3, (batch,), generator=gen).to(device)
    precision = variant
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def step() -> float:
        with autocast(device, precision):
            hcl = contrastive_step(net, x, cfg, rng)
            ce = F.cross_entropy(net(x).float(), y)
        loss = hcl + ce
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    net.train()
    losses = []
    for _ in range(warmup):
        losses.append(step())
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        losses.append(step())  # .item() waits for the device: the time is the step's
    dt = time.perf_counter() - t0
    return {
        "windows_per_s": batch * steps / dt,
        "ms_per_step": 1e3 * dt / steps,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_cuda_mb": (torch.cuda.max_memory_allocated(device) / 2**20
                         if device.type == "cuda" else float("nan")),
        "losses": np.array(losses),
    }


def main() -> None:
    """Print the figures for every available device."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20, help="timed steps per variant")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=min(2, torch.get_num_threads()),
                   help="CPU intra-op threads (the issue's figures: 2)")
    p.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")]
    if torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    print(f"SI-CLEER joint step, encoder 64/320, batch {args.batch} x (62 ch x 200 samples), "
          f"{args.steps} timed steps after 3, torch {torch.__version__}, "
          f"{args.threads} CPU threads")
    for dev in devices:
        results = {v: bench(dev, v, args.batch, args.steps) for v in args.variants}
        base = results.get("fp32")
        for v, r in results.items():
            line = (f"{device_name(dev):>14} {v:>8}: {r['windows_per_s']:7.1f} windows/s "
                    f"{r['ms_per_step']:7.1f} ms/step")
            if base is not None:
                rel = np.abs(r["losses"] - base["losses"]) / np.abs(base["losses"])
                line += (f"  x{r['windows_per_s'] / base['windows_per_s']:.2f} of fp32"
                         f"  loss max rel. diff {rel.max():.1e} over {len(rel)} steps")
            line += f"  peak RSS {r['peak_rss_mb']:.0f} MiB"
            if dev.type == "cuda":
                line += f"  peak CUDA {r['peak_cuda_mb']:.0f} MiB"
            print(line)
        best = max(results.values(), key=lambda r: r["windows_per_s"])
        epoch_windows = 45 * 2010  # subject-dependent SEED: 45 sessions x 2010 training windows
        print(f"{device_name(dev)}: one epoch over every session of SEED (subject-dependent, "
              f"stride 1 s) at the fastest variant takes about "
              f"{epoch_windows / best['windows_per_s'] / 60:.1f} min")


if __name__ == "__main__":
    main()
