"""Does SI-CLEER's joint loss earn its keep? Accuracy of training recipes beside CE alone and
CSP + LDA, on an easy synthetic set and on real EEG (PhysioNet eegmmidb, subject S001).

    .venv/bin/python benchmarks/learning.py synthetic [--seeds 0 1 2]
    .venv/bin/python benchmarks/learning.py real [--seeds 0 1 2] [--recipes default ce ...]
        [--tasks tuning|report|all] [--classes 2 3]

Every figure is printed with its protocol (train run -> test run, or synthetic trials 1-9 ->
10-15, split by trials, never windows), mean and standard error over seeds, and the CSP + LDA
baseline on the same test windows. ``synthetic`` also prints, per recipe, the optimizer steps
each seed needed to reach CE's final test accuracy (test accuracy measured after every epoch,
never used for choosing anything). Results on synthetic data are marked SYNTHETIC.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eegmmidb import DATA, TASKS, load_run

from models.device import PRECISIONS, resolve_precision
from models.preprocessing import FilterSpec
from offline_training.baseline import CSPLDA, bandpass_fft
from offline_training.config import TrainConfig
from offline_training.train import fit, predict
from offline_training.windows import SessionWindows, WindowPool, fit_normalisation

_SMALL = {"hidden_dims": 32, "output_dims": 64}
_STEPS = {"min_steps": 200, "stride_seconds": 0.25}
RECIPES: dict[str, dict] = {
    # the trainer's defaults (whatever they are when this runs)
    "default": {},
    "paper (joint, balance none, lambda 1)": {"loss": "joint", "balance": "none"},
    "ce": {"loss": "ce"},
    "joint gradnorm": {"loss": "joint", "balance": "gradnorm"},
    "contrastive then head": {"loss": "contrastive"},
    # the ablation rows (small encoder 32/64 unless said)
    "A paper, small": {"loss": "joint", "balance": "none"} | _SMALL,
    "B ce, small": {"loss": "ce"} | _SMALL,
    "C gradnorm, small": {"loss": "joint", "balance": "gradnorm"} | _SMALL,
    "D gradnorm + 200 steps, stride 0.25": {"loss": "joint", "balance": "gradnorm"} | _SMALL
    | _STEPS,
    "E ce + 200 steps, stride 0.25": {"loss": "ce"} | _SMALL | _STEPS,
    "F D + early stopping (1 trial/class)": {"loss": "joint", "balance": "gradnorm",
                                              "val_trials": 1} | _SMALL | _STEPS,
    "G D + dropout 0.3, weight decay 0.01": {"loss": "joint", "balance": "gradnorm",
                                              "dropout": 0.3, "weight_decay": 0.01}
    | _SMALL | _STEPS,
    "H D without mask": {"loss": "joint", "balance": "gradnorm", "mask": False} | _SMALL
    | _STEPS,
    "I D, lambda 0.5": {"loss": "joint", "balance": "gradnorm", "lambda_ce": 0.5} | _SMALL
    | _STEPS,
    "J paper + 200 steps, stride 0.25": {"loss": "joint", "balance": "none"} | _SMALL
    | _STEPS,
    "K D at the paper's size 64/320": {"loss": "joint", "balance": "gradnorm"} | _STEPS,
    "L contrastive then head, 200 steps": {"loss": "contrastive", "head_epochs": 20}
    | _SMALL | _STEPS,
    "M D + weight decay 0.05": {"loss": "joint", "balance": "gradnorm",
                                "weight_decay": 0.05} | _SMALL | _STEPS,
    "N E + weight decay 0.05": {"loss": "ce", "weight_decay": 0.05} | _SMALL | _STEPS,
    "P D without overlap (stride 1 s)": {"loss": "joint", "balance": "gradnorm",
                                         "min_steps": 200} | _SMALL,
    "Q E without overlap (stride 1 s)": {"loss": "ce", "min_steps": 200} | _SMALL,
    "O D, 400 steps": {"loss": "joint", "balance": "gradnorm", "min_steps": 400,
                       "stride_seconds": 0.25} | _SMALL,
}


def _cfg(**kw: object) -> TrainConfig:
    return TrainConfig(data=Path("."), out=Path("."), occlusion_windows=0, **kw)


def _pool(sw: SessionWindows) -> WindowPool:
    return WindowPool([(sw, np.ones(len(sw.y), bool))])


def _sem(values: list[float]) -> float:
    return float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0


def run_recipe(train: SessionWindows, test: SessionWindows, cfg: TrainConfig, seed: int,
               n_classes: int, monitor: bool = False) -> dict:
    """Train on ``train``, score on ``test``; with ``monitor`` the test accuracy per epoch."""
    pool, test_pool = _pool(train), _pool(test)
    norm = fit_normalisation(pool)
    curve: list[tuple[int, float]] = []

    def on_epoch(net: torch.nn.Module, step: int) -> None:
        acc = float((predict(net, test_pool, norm, torch.device("cpu")).argmax(1)
                     == test_pool.y).mean())
        curve.append((step, acc))

    t0 = time.perf_counter()
    net, history, _ = fit(pool, norm, cfg, torch.device("cpu"), seed, desc="bench",
                          n_classes=n_classes, on_epoch=on_epoch if monitor else None)
    seconds = time.perf_counter() - t0
    acc = float((predict(net, test_pool, norm, torch.device("cpu")).argmax(1)
                 == test_pool.y).mean())
    share = [s for s in history.grad_share_contrastive if s is not None]
    return {"accuracy": acc, "seconds": seconds, "best_step": history.best_step,
            "curve": curve, "grad_share": share}


def synthetic_set(seed: int, n_channels: int = 16, sfreq: float = 200.0,
                  trial_s: float = 20.0) -> tuple[SessionWindows, SessionWindows]:
    """An easy SYNTHETIC set: class k adds a 5, 10 or 22 Hz rhythm (random phase per channel)
    over its own third of the channels to white and slowly drifting noise; 15 trials of 20 s,
    SEED's order of classes; trials 1-9 train."""
    rng = np.random.default_rng(1000 + seed)
    labels = (2, 1, 0, 0, 1, 2, 0, 1, 2, 2, 1, 0, 1, 2, 0)
    freqs = (5.0, 10.0, 22.0)
    n = round(trial_s * sfreq)
    t = np.arange(n) / sfreq
    xs, ys, ts = [], [], []
    for number, cls in enumerate(labels, start=1):
        noise = np.cumsum(rng.standard_normal((n_channels, n)), axis=1) * 0.05
        noise += 3.0 * rng.standard_normal((n_channels, n))
        noise -= noise.mean(axis=1, keepdims=True)
        phase = rng.uniform(0, 2 * np.pi, (n_channels, 1))
        where = np.zeros((n_channels, 1))
        where[cls * n_channels // 3:(cls + 1) * n_channels // 3] = 1.0
        trial = noise + 5.0 * where * np.sin(2 * np.pi * freqs[cls] * t + phase)
        w = np.lib.stride_tricks.sliding_window_view(trial, 200, axis=1)[:, ::200]
        w = np.ascontiguousarray(w.transpose(1, 0, 2), dtype=np.float32)
        xs.append(w)
        ys.append(np.full(len(w), cls))
        ts.append(np.full(len(w), number))
    x, y, tr = np.concatenate(xs), np.concatenate(ys), np.concatenate(ts)
    train, test = tr <= 9, tr >= 10
    return (SessionWindows(x[train], y[train], tr[train], 1, 1),
            SessionWindows(x[test], y[test], tr[test], 1, 1))


def main_synthetic(args: argparse.Namespace) -> None:
    print("SYNTHETIC easy set: 16 channels, 200 Hz, 15 trials of 20 s, classes = a 5/10/22 Hz "
          "rhythm over a class's own channels; trials 1-9 train, 10-15 test (split by trial); "
          "1-s windows, stride 1 s")
    base = {"epochs": args.epochs, "hidden_dims": args.hidden, "output_dims": args.output,
            "batch_size": 64, "precision": args.precision}
    results: dict[str, list[dict]] = {}
    baseline = []
    for seed in args.seeds:
        train, test = synthetic_set(seed)
        csp = CSPLDA(200.0, band=(1.0, 45.0)).fit(train.x, train.y)
        baseline.append(float((csp.predict(test.x) == test.y).mean()))
        for name in args.recipes:
            cfg = _cfg(**(base | RECIPES[name]))
            results.setdefault(name, []).append(run_recipe(train, test, cfg, seed, 3, True))
    ce_final = {s: r["accuracy"] for s, r in zip(args.seeds, results.get("ce", []),
                                                  strict=False)}
    print(f"CSP + LDA (1-45 Hz): {100 * np.mean(baseline):.1f} % (seeds {args.seeds})")
    print(f"{'recipe':42s} {'accuracy %':>16s} {'steps to CE acc':>18s} {'s/fit':>7s}")
    for name, rows in results.items():
        accs = [r["accuracy"] for r in rows]
        reach = []
        for seed, r in zip(args.seeds, rows, strict=True):
            target = ce_final.get(seed, max(a for _, a in r["curve"]))
            hit = [s for s, a in r["curve"] if a >= target - 1e-9]
            reach.append(hit[0] if hit else None)
        reach_txt = ",".join("-" if v is None else str(v) for v in reach)
        print(f"{name:42s} {100 * np.mean(accs):7.1f} +/- {100 * _sem(accs):4.1f} "
              f"{reach_txt:>18s} {np.mean([r['seconds'] for r in rows]):7.1f}")


def _band(sw: SessionWindows, sfreq: float, band: list[float]) -> SessionWindows:
    """The windows band-passed by FFT masking (the baseline's own filter)."""
    x = bandpass_fft(sw.x, sfreq, (band[0], band[1])).astype(np.float32)
    return dataclasses.replace(sw, x=x)


def _whiten(train: SessionWindows, others: list[SessionWindows]) -> list[SessionWindows]:
    """Spatial whitening by the training windows' mean covariance (Euclidean alignment):
    every window becomes ``R^(-1/2) x`` with ``R`` the mean of ``x x^T / T`` over training
    windows only (test windows are transformed with the training matrix)."""
    x = train.x.astype(np.float64)
    x = x - x.mean(axis=2, keepdims=True)
    cov = np.einsum("nct,ndt->cd", x, x) / (x.shape[0] * x.shape[2])
    vals, vecs = np.linalg.eigh(cov)
    w = (vecs / np.sqrt(np.maximum(vals, vals.max() * 1e-6))) @ vecs.T
    return [dataclasses.replace(sw, x=np.einsum("cd,ndt->nct", w, sw.x).astype(np.float32))
            for sw in others]


def main_real(args: argparse.Namespace) -> None:
    if not DATA.is_dir():
        print(f"real EEG not available at {DATA}; nothing to do")
        return
    tasks = [t for t in TASKS if args.tasks == "all" or t.tuning == (args.tasks == "tuning")]
    if args.only:
        tasks = [t for t in tasks if any(o in t.name for o in args.only)]
    overrides = {"epochs": args.epochs, "hidden_dims": args.hidden, "output_dims": args.output,
                 "stride_seconds": args.stride, "min_steps": args.min_steps, "lr": args.lr,
                 "precision": args.precision}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    filters = (FilterSpec(args.filter[0], args.filter[1], notch=None) if args.filter
               else None)
    if args.band:
        what = f"every window band-passed {args.band[0]:g}-{args.band[1]:g} Hz (FFT mask)"
    elif filters:
        what = (f"each run filtered causally {filters.l_freq:g}-{filters.h_freq:g} Hz "
                f"(Butterworth order {filters.order}, the live chain) before cutting")
    else:
        what = "raw input (no filter)"
    if args.whiten:
        what += "; windows whitened by the training run's mean spatial covariance"
    print(f"Real EEG (PhysioNet eegmmidb S001, 64 ch, 160 Hz), within-subject, train on one run, "
          f"test on another (split by trials); {args.window:g}-s windows; seeds {args.seeds}; "
          f"overrides {overrides}; {what}")
    for task in tasks:
        for k in args.classes:
            test, sfreq, _ = load_run(task.test, k, window_s=args.window, stride_s=1.0,
                                      filters=filters)
            runs = {}
            for stride in {RECIPES[n].get("stride_seconds", args.stride or 1.0)
                           for n in args.recipes} | {1.0}:
                runs[stride] = load_run(task.train, k, window_s=args.window, stride_s=stride,
                                        filters=filters)[0]
            if args.band:
                test = _band(test, sfreq, args.band)
                runs = {s: _band(r, sfreq, args.band) for s, r in runs.items()}
            if args.whiten:
                base_train = runs[1.0]
                test = _whiten(base_train, [test])[0]
                runs = dict(zip(runs, _whiten(base_train, list(runs.values())), strict=True))
            train = runs[1.0]
            csp = CSPLDA(sfreq).fit(train.x, train.y)
            base_acc = float((csp.predict(test.x) == test.y).mean())
            print(f"\n{task.name}, {k} classes: {len(train.y)} train (stride 1 s) / "
                  f"{len(test.y)} test windows; chance {100 / k:.1f} %; CSP + LDA (8-30 Hz, "
                  f"stride 1 s) {100 * base_acc:.1f} %")
            for name in args.recipes:
                cfg = _cfg(**(overrides | RECIPES[name]))
                train = runs[cfg.stride]
                rows = [run_recipe(train, test, cfg, s, k) for s in args.seeds]
                accs = [r["accuracy"] for r in rows]
                share = [np.mean(r["grad_share"]) for r in rows if r["grad_share"]]
                share_txt = f"  contrastive grad share {np.mean(share):.2f}" if share else ""
                margin = np.mean(accs) - base_acc
                print(f"  {name:40s} {100 * np.mean(accs):5.1f} +/- {100 * _sem(accs):4.1f} % "
                      f"(vs CSP+LDA {100 * margin:+5.1f} pp)  "
                      f"{np.mean([r['seconds'] for r in rows]):5.1f} s/fit{share_txt}",
                      flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("which", choices=("synthetic", "real"))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    p.add_argument("--tasks", choices=("tuning", "report", "all"), default="all")
    p.add_argument("--classes", type=int, nargs="+", default=[2, 3], choices=[2, 3])
    p.add_argument("--band", type=float, nargs=2, default=None, metavar=("LOW", "HIGH"),
                   help="band-pass every window (FFT mask, Hz) before training and testing, "
                        "as the CSP + LDA baseline does")
    p.add_argument("--filter", type=float, nargs=2, default=None, metavar=("LOW", "HIGH"),
                   help="filter each whole run causally (the live app's Butterworth chain, Hz) "
                        "before cutting windows")
    p.add_argument("--whiten", action="store_true",
                   help="whiten every window by the training windows' mean spatial covariance")
    p.add_argument("--only", nargs="+", default=None,
                   help="only the tasks whose name contains one of these, e.g. R06->R10")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--min-steps", type=int, default=None)
    p.add_argument("--stride", type=float, default=None)
    p.add_argument("--lr", type=float, default=None, help="learning rate (default 1e-3)")
    p.add_argument("--window", type=float, default=1.0,
                   help="real: window length in seconds, for the network and CSP + LDA alike")
    p.add_argument("--hidden", type=int, default=None)
    p.add_argument("--output", type=int, default=None)
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="training arithmetic (sicleer-train's --precision)")
    args = p.parse_args()
    print(f"training precision: {resolve_precision(args.precision, torch.device('cpu'))} "
          f"(--precision {args.precision})")
    torch.set_num_threads(2)
    if args.which == "synthetic":
        args.epochs = args.epochs or 20
        args.hidden, args.output = args.hidden or 32, args.output or 64
        main_synthetic(args)
    else:
        main_real(args)


if __name__ == "__main__":
    main()
