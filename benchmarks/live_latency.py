"""Live-path latency: a generated SEED-format session replayed in real time into the engine.

The replay runs in its own process (as in a lab: the amplifier is another program); the
headless engine runs here with the demo model (or --model), 62 channels at 200 Hz, hop 0.25 s.
Prints latency p50/p95/p99 (newest sample's LSL time to the prediction, both on LSL's clock),
inference time per window, windows skipped and the engine process's CPU share, against the
targets (latency p95 < 15 ms, inference < 5 ms a window on a 2-core CPU).

On the CPU it measures, on the same replayed stream one after the other, the baseline (a trace
of the network itself, as before ``models.inference.InferencePlan``) and then the live path
(the trace of the plan), and prints the ratios of the two; ``--no-baseline`` skips the former.

    .venv/bin/python benchmarks/live_latency.py [--seconds 60] [--model PATH] [--device cpu]
        [--no-baseline]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("LSLAPICFG", str(REPO / "tests" / "lsl_api.cfg"))

from bci_app.engine.config import EngineConfig  # noqa: E402
from bci_app.engine.engine import Engine, use_one_inference_thread  # noqa: E402
from bci_app.engine.state import EngineState  # noqa: E402
from models import DEMO_MODEL_PATH, load_model  # noqa: E402
from models.device import resolve_device  # noqa: E402
from offline_training.seed import find_sessions  # noqa: E402
from offline_training.synth import generate_seed_folder  # noqa: E402


def run_engine(args: argparse.Namespace, stream: str, folder: Path, plan: bool) -> dict:
    """One engine session of ``args.seconds`` s on ``stream``: its summary plus CPU share."""
    device = resolve_device(args.device)
    model = load_model(args.model, device, plan=plan)
    summary_path = folder / f"summary-{'plan' if plan else 'baseline'}.json"
    cfg = EngineConfig(model=args.model, stream=stream, hop=args.hop, device=args.device,
                       summary=summary_path, outlet_name=f"{stream}-pred-{int(plan)}",
                       duration=args.seconds)
    engine = Engine(cfg, model)
    engine.start()
    while engine.status().state in (EngineState.IDLE, EngineState.CONNECTING,
                                    EngineState.WARMING_UP):
        time.sleep(0.05)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    while engine.running:
        time.sleep(0.2)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    engine.stop()
    summary = json.loads(summary_path.read_text())
    summary["cpu_share"] = cpu / wall
    return summary


def report(name: str, summary: dict) -> None:
    """Print one session's figures against the targets."""
    lat, inf = summary["latency_ms"], summary["inference_ms"]
    print(f"[{name}] windows predicted {summary['windows_predicted']}, skipped "
          f"{summary['windows_skipped']}, NaN {summary['nan_windows']}, samples lost "
          f"{summary['samples_lost']}")
    print(f"[{name}] latency   ms: p50 {lat['p50']:6.2f}  p95 {lat['p95']:6.2f}  p99 "
          f"{lat['p99']:6.2f}   (target p95 < 15 ms: ratio {lat['p95'] / 15:.2f})")
    print(f"[{name}] inference ms: p50 {inf['p50']:6.2f}  p95 {inf['p95']:6.2f}  p99 "
          f"{inf['p99']:6.2f}   (target < 5 ms: ratio {inf['p50'] / 5:.2f})")
    cores = os.cpu_count() or 1
    share = summary["cpu_share"]
    print(f"[{name}] engine process CPU: {100 * share:.1f} % of one core "
          f"({100 * share / cores:.1f} % of {cores} cores)")


def main() -> int:
    """Run the benchmark and print its figures."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60.0, help="seconds of streaming measured")
    p.add_argument("--model", type=Path, default=DEMO_MODEL_PATH)
    p.add_argument("--device", default="auto")
    p.add_argument("--hop", type=float, default=0.25)
    p.add_argument("--no-baseline", action="store_true",
                   help="measure only the live path, not the network trace before it")
    args = p.parse_args()
    use_one_inference_thread()  # as bci-app does
    baseline = not args.no_baseline and resolve_device(args.device).type == "cpu"

    runs: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "SEED"
        trial_s = max(5.0, (args.seconds + 20) / 15)
        generate_seed_folder(root, subjects=(1,), n_sessions=1, trial_seconds=trial_s, seed=3)
        session = find_sessions(root)[0].path
        name = f"bench-{uuid.uuid4().hex[:6]}"
        replay = subprocess.Popen([sys.executable, "-m", "bci_app.replay", str(session),
                                   "--name", name, "--source-id", name, "--loop"],
                                  stdout=subprocess.DEVNULL)
        try:
            time.sleep(1.0)
            if baseline:
                runs["baseline"] = run_engine(args, name, Path(tmp), plan=False)
            runs["live"] = run_engine(args, name, Path(tmp), plan=True)
        finally:
            replay.terminate()
            replay.wait(5)

    live = runs["live"]
    print(f"live engine, {args.seconds:.0f} s of replay, 62 ch @ 200 Hz, hop {args.hop} s, "
          f"device {live['device']}, model {args.model.name}")
    if baseline:
        report("baseline: network trace", runs["baseline"])
    report("live: inference plan" if baseline else "live", live)
    if baseline:
        old = runs["baseline"]
        for key, label in (("inference_ms", "inference"), ("latency_ms", "latency")):
            print(f"live / baseline {label:9s}: p50 {live[key]['p50'] / old[key]['p50']:.2f}"
                  f"  p95 {live[key]['p95'] / old[key]['p95']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
