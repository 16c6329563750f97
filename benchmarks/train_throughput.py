"""Training-step throughput of SI-CLEER with the joint loss.

Measures forward + backward + Adam step on batches of 64 one-second windows of 62 channels
(200 samples), the default architecture (hidden 64, output 320), on the CPU and on CUDA when
present (bf16 autocast there, as the trainer does). Prints windows per second, time per step
and peak memory, and the CUDA / CPU ratio.

    .venv/bin/python benchmarks/train_throughput.py [--steps 20] [--batch 64]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch

from models import SICLEER, ModelConfig
from offline_training.config import TrainConfig
from offline_training.train import _autocast, contrastive_step


def bench(device: torch.device, batch: int, steps: int, warmup: int = 3,
          hidden: int = 64, output: int = 320) -> dict[str, float]:
    """Run ``steps`` joint-loss training steps; returns throughput and memory figures."""
    torch.manual_seed(0)
    net = SICLEER(ModelConfig(n_channels=62, hidden_dims=hidden, output_dims=output)).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    cfg = TrainConfig(data=".", out=".")
    rng = np.random.default_rng(0)
    x = torch.randn(batch, 200, 62, device=device)
    y = torch.randint(0, 3, (batch,), device=device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def step() -> None:
        with _autocast(device):
            hcl = contrastive_step(net, x, cfg, rng)
            ce = torch.nn.functional.cross_entropy(net(x).float(), y)
        loss = hcl + ce
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    net.train()
    for _ in range(warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    dt = time.perf_counter() - t0
    return {
        "windows_per_s": batch * steps / dt,
        "ms_per_step": 1e3 * dt / steps,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_cuda_mb": (torch.cuda.max_memory_allocated(device) / 2**20
                         if device.type == "cuda" else float("nan")),
    }


def main() -> None:
    """Print the figures for every available device."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")]
    if torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    print(f"SI-CLEER joint loss, batch {args.batch} x (62 ch x 200 samples), "
          f"{args.steps} steps, torch {torch.__version__}, {args.threads} CPU threads")
    results = {}
    for dev in devices:
        name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
        r = bench(dev, args.batch, args.steps)
        results[dev.type] = r
        print(f"{name:>24}: {r['windows_per_s']:9.1f} windows/s  {r['ms_per_step']:8.1f} ms/step"
              f"  peak RSS {r['peak_rss_mb']:7.0f} MiB  peak CUDA {r['peak_cuda_mb']:7.0f} MiB")
    if "cuda" in results:
        ratio = results["cuda"]["windows_per_s"] / results["cpu"]["windows_per_s"]
        print(f"CUDA / CPU throughput ratio: {ratio:.1f}x")
    epoch_windows = 45 * 2010  # subject-dependent SEED: 45 sessions x 2010 training windows
    for dev, r in results.items():
        print(f"{dev}: one epoch over every session of SEED (subject-dependent, stride 1 s) "
              f"takes about {epoch_windows / r['windows_per_s'] / 60:.1f} min")


if __name__ == "__main__":
    main()
