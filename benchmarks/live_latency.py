"""Live-path latency: a generated SEED-format session replayed in real time into the engine.

The replay runs in its own process (as in a lab: the amplifier is another program); the
headless engine runs here with the demo model (or --model), 62 channels at 200 Hz, hop 0.25 s.
Prints latency p50/p95/p99 (newest sample's LSL time to the prediction, both on LSL's clock),
inference time per window, windows skipped and the engine process's CPU share, against the
targets (latency p95 < 15 ms, inference < 5 ms a window on a 2-core CPU).

    .venv/bin/python benchmarks/live_latency.py [--seconds 60] [--model PATH] [--device cpu]
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
from models import DEMO_MODEL_PATH  # noqa: E402
from offline_training.seed import find_sessions  # noqa: E402
from offline_training.synth import generate_seed_folder  # noqa: E402


def main() -> int:
    """Run the benchmark and print its figures."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60.0, help="seconds of streaming measured")
    p.add_argument("--model", type=Path, default=DEMO_MODEL_PATH)
    p.add_argument("--device", default="auto")
    p.add_argument("--hop", type=float, default=0.25)
    args = p.parse_args()
    use_one_inference_thread()  # as bci-app does

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
            summary_path = Path(tmp) / "summary.json"
            cfg = EngineConfig(model=args.model, stream=name, hop=args.hop, device=args.device,
                               summary=summary_path, outlet_name=f"{name}-pred",
                               duration=args.seconds)
            engine = Engine(cfg)
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
        finally:
            replay.terminate()
            replay.wait(5)

    lat, inf = summary["latency_ms"], summary["inference_ms"]
    print(f"live engine, {args.seconds:.0f} s of replay, 62 ch @ 200 Hz, hop {args.hop} s, "
          f"device {summary['device']}, model {args.model.name}")
    print(f"windows predicted {summary['windows_predicted']}, skipped "
          f"{summary['windows_skipped']}, NaN {summary['nan_windows']}, samples lost "
          f"{summary['samples_lost']}")
    print(f"latency   ms: p50 {lat['p50']:6.2f}  p95 {lat['p95']:6.2f}  p99 {lat['p99']:6.2f}"
          f"   (target p95 < 15 ms: ratio {lat['p95'] / 15:.2f})")
    print(f"inference ms: p50 {inf['p50']:6.2f}  p95 {inf['p95']:6.2f}  p99 {inf['p99']:6.2f}"
          f"   (target < 5 ms: ratio {inf['p50'] / 5:.2f})")
    cores = os.cpu_count() or 1
    print(f"engine process CPU: {100 * cpu / wall:.1f} % of one core "
          f"({100 * cpu / wall / cores:.1f} % of {cores} cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
