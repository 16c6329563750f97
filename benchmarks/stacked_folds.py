"""Folds trained side by side (``--parallel-folds K``) against the same folds one by one.

K folds of random 62-channel, 200-Hz one-second windows (a SEED-shaped stand-in; their
accuracy means nothing), each with its own seed, are trained twice in the same process:
one after another with :func:`offline_training.train.fit` (the baseline), then stacked with
:func:`offline_training.stacked.fit_stacked`. Each fold makes ``--steps`` optimizer steps of
the default joint loss (gradient balance probes included) on batches of 64, encoder 64/320
unless ``--small`` (32/64, the small-data default). Prints windows/s of both, their ratio,
the largest weight difference between a fold trained alone and stacked (the stacked run
must give the same weights to float tolerance in fp32 on the CPU), the peak memory, and
the time the full SEED subject-dependent protocol (45 sessions x 50 epochs of 2010 training
windows) would take at the stacked rate (EXTRAPOLATED, training only).

    .venv/bin/python benchmarks/stacked_folds.py [--folds 1 3 9] [--steps 8] [--threads 2]
        [--device cpu|cuda] [--precision fp32|bf16] [--small]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from models.device import device_name, resolve_precision
from offline_training.config import TrainConfig
from offline_training.run import peak_rss_mb
from offline_training.stacked import fit_stacked
from offline_training.train import fit
from offline_training.windows import SessionWindows, WindowPool, fit_normalisation

PROTOCOL_WINDOWS = 45 * 50 * 2010
"""Training-window passes of the full SEED subject-dependent protocol (45 sessions, 50 epochs,
trials 1-9 of a session cut into 2010 one-second windows)."""


def _pools(k: int, windows: int) -> list[WindowPool]:
    """``k`` pools of ``windows`` random windows (3 classes, 15 trials each)."""
    pools = []
    for i in range(k):
        rng = np.random.default_rng(100 + i)
        x = rng.normal(0, 10, (windows, 62, 200)).astype(np.float32)
        trial = 1 + np.arange(windows) * 15 // windows
        sw = SessionWindows(x, (trial - 1) % 3, trial, i + 1, 1)
        pools.append(WindowPool([(sw, np.ones(windows, bool))]))
    return pools


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--folds", type=int, nargs="+", default=[1, 3, 9], help="K to measure")
    p.add_argument("--steps", type=int, default=8, help="optimizer steps per fold")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=min(2, torch.get_num_threads()))
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16"],
                   help="fp32 checks the weights against training alone (default)")
    p.add_argument("--small", action="store_true", help="the small-data encoder 32/64")
    p.add_argument("--no-baseline", action="store_true",
                   help="stacked runs only (large K on a GPU: the sequential run is long)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
    dims = (32, 64) if args.small else (64, 320)
    cfg = TrainConfig(data=".", out=".", epochs=1, min_steps=args.steps,
                      batch_size=args.batch, hidden_dims=dims[0], output_dims=dims[1],
                      precision=args.precision, occlusion_windows=0)
    print(f"device {device_name(device)}, {args.threads} threads, precision "
          f"{resolve_precision(args.precision, device)}, encoder {dims[0]}/{dims[1]}, "
          f"joint loss (gradnorm), batch {args.batch}, {args.steps} steps a fold; "
          "SYNTHETIC random windows")
    print(f"{'K':>3} {'one by one w/s':>15} {'stacked w/s':>12} {'ratio':>6} "
          f"{'max |dw|':>9} {'peak MiB':>9} {'45x50 min':>10}")
    for k in args.folds:
        pools = _pools(k, args.batch * args.steps)
        norms = [fit_normalisation(pool) for pool in pools]
        seeds = [10 + i for i in range(k)]
        windows = k * args.steps * args.batch
        if device.type == "cuda":
            torch.cuda.synchronize()
        solo_rate, solo = float("nan"), None
        if not args.no_baseline:
            t0 = time.perf_counter()
            solo = [fit(pool, norm, cfg, device, s, desc=f"alone {i + 1}/{k}", geometry_seed=0)
                    for i, (pool, norm, s) in enumerate(zip(pools, norms, seeds, strict=True))]
            if device.type == "cuda":
                torch.cuda.synchronize()
            solo_rate = windows / (time.perf_counter() - t0)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        t0 = time.perf_counter()
        stacked = fit_stacked(pools, norms, cfg, device, seeds, geometry_seed=0)
        if device.type == "cuda":
            torch.cuda.synchronize()
        rate = windows / (time.perf_counter() - t0)
        diff = float("nan")
        if solo is not None:
            diff = max(float((a.detach() - b.detach()).abs().max())
                       for (na, _, _), (nb, _, _) in zip(solo, stacked, strict=True)
                       for a, b in zip(na.parameters(), nb.parameters(), strict=True))
        peak = (torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda"
                else peak_rss_mb())
        print(f"{k:>3} {solo_rate:>15.1f} {rate:>12.1f} {rate / solo_rate:>6.2f} "
              f"{diff:>9.1e} {peak or float('nan'):>9.0f} {PROTOCOL_WINDOWS / rate / 60:>10.1f}",
              flush=True)
    print("45x50 min: EXTRAPOLATED from the stacked rate (training windows only)")


if __name__ == "__main__":
    main()
