"""``make demo``: the app on a generated demo recording and the shipped demo model.

1. Generates (once, cached under ``.demo/``) a short SEED-format session with sicleer-synth.
2. Streams it over LSL with ``bci-replay --loop`` in a child process.
3. Opens the app on the demo model (or, with no display, runs the headless engine and prints
   a live line per second), records the session into ``.demo/session.xdf`` (LabRecorder) and
   calibrates a model for the "participant" on its first :data:`DEMO_CALIBRATION_TRIALS`
   trials (``sicleer-train --init`` the demo model, in a separate process, while the session
   goes on); the session then goes on predicting with the participant's model. Closing the
   app stops the replay. ``--no-calibrate``: only the app on the demo model.

Ctrl-C in the terminal ends the demo as closing the window does: the replay runs in a session
of its own, so the terminal's SIGINT reaches only the app, which stops in order (no "stream
lost" on the way out); the demo then stops the replay and exits with the app's code (130).
On Linux the replay also gets SIGTERM if the demo dies without stopping it (a crash, SIGKILL).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from models import DEMO_MODEL_PATH
from models.exit_codes import Interrupted, on_stop_signals, raise_interrupted

DEMO_DIR = Path(".demo")
DEMO_TRIAL_SECONDS = 20.0  # 15 trials x 20 s = 5 minutes, then it loops
DEMO_SUBJECT = 1
DEMO_SEED = 0  # the demo model was fitted to synthetic subject 1 of seed 0 (see make_demo_model.sh)
DEMO_CALIBRATION_TRIALS = 9  # SEED's order puts every class on both sides of a 5 / 4 split
DEMO_CALIBRATION_ARGS = "--epochs 10 --min-steps 60"  # a demo: ~1-2 minutes of training
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def demo_recording(folder: Path = DEMO_DIR) -> Path:
    """Path of the demo session file, generating it on first use."""
    from offline_training.seed import find_sessions
    from offline_training.synth import generate_seed_folder

    root = folder / "SEED"
    try:
        return find_sessions(root)[0].path
    except Exception:  # not generated yet (or damaged): make it again
        print(f"generating the demo recording in {root} (once) ...", flush=True)
        generate_seed_folder(root, subjects=(DEMO_SUBJECT,), n_sessions=1,
                             trial_seconds=DEMO_TRIAL_SECONDS, seed=DEMO_SEED, overwrite=True)
        return find_sessions(root)[0].path


def _own_session() -> dict[str, Any]:
    """Popen options that keep the terminal's signals (Ctrl-C, a closed terminal) away from a
    child, and on Linux end it if this process dies first."""
    if os.name != "posix":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True, "preexec_fn": _end_with_parent()}


def _end_with_parent() -> Callable[[], None] | None:
    """Linux: a ``preexec_fn`` that has the child get SIGTERM when this process dies."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent, sigterm = os.getpid(), int(signal.SIGTERM)

    def preexec() -> None:  # in the child, between fork and exec
        prctl(_PR_SET_PDEATHSIG, sigterm)
        if os.getppid() != parent:  # the demo died before prctl took effect
            os.kill(os.getpid(), sigterm)

    return preexec


def _stop(replay: subprocess.Popen) -> None:
    """Stop the replay (a second stop signal meanwhile must not cut this short)."""
    with on_stop_signals(lambda _signum: None):
        replay.terminate()
        try:
            replay.wait(5)
        except subprocess.TimeoutExpired:
            replay.kill()
            replay.wait(5)


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns the app's exit code."""
    p = argparse.ArgumentParser(prog="bci-demo", description=__doc__.splitlines()[0])
    p.add_argument("--headless", action="store_true", help="no window, live lines instead")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--screenshot", type=Path, help="save a PNG of the window and exit")
    p.add_argument("--no-calibrate", dest="calibrate", action="store_false",
                   help=f"neither record the session (into {DEMO_DIR}/session.xdf) nor "
                        f"calibrate on its first {DEMO_CALIBRATION_TRIALS} trials")
    p.add_argument("--calibrate", action="store_true",
                   help="record and calibrate (the default; kept for older commands)")
    args = p.parse_args(argv)
    try:
        with on_stop_signals(raise_interrupted):  # the app installs its own once it runs
            recording = demo_recording()
            name = f"sicleer-demo-{uuid.uuid4().hex[:6]}"
            env = dict(os.environ)
            replay = subprocess.Popen(
                [sys.executable, "-m", "bci_app.replay", str(recording), "--name", name,
                 "--source-id", name, "--loop"], env=env, **_own_session())
            try:
                time.sleep(1.0)
                if replay.poll() is not None:
                    print("bci-demo: the replay did not start (see its message above)",
                          file=sys.stderr)
                    return 1
                from bci_app.cli import main as app_main

                app_args = ["--stream", name, "--model", str(DEMO_MODEL_PATH)]
                if args.headless:
                    app_args.append("--headless")
                if args.calibrate:
                    app_args += ["--record", str(DEMO_DIR / "session.xdf"),
                                 "--calibrate-trials", str(DEMO_CALIBRATION_TRIALS),
                                 "--then-run", "--participant", "demo", "--calibrate-args",
                                 DEMO_CALIBRATION_ARGS]
                if args.duration:
                    app_args += ["--duration", str(args.duration)]
                if args.screenshot:
                    app_args += ["--screenshot", str(args.screenshot)]
                return app_main(app_args)
            finally:
                _stop(replay)
    except Interrupted as exc:
        print(f"bci-demo: interrupted by {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
