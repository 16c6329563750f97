"""GUI refresh benchmark: frame rate, time per GUI update and GUI-thread stalls, 62 channels.

Runs the live window (offscreen unless a display is set) on the real engine
(``bci_app.engine.Engine``, default) fed by a ``bci-replay`` child process streaming the demo
recording (62 channels, 200 Hz), or with ``--engine fake`` on the synthetic
``bci_app.gui.fake_engine.FakeEngine``.

Phases:
1. frontal + temporal traces (20 channels), ``--seconds`` s;
2. all 62 channels, ``--seconds`` s;
3. all 62 channels while a calibration training (``sicleer-train --init`` the demo model on
   nine 10-s synthetic trials, in its own process at niceness 10 with one thread, as the
   Calibrate panel runs it) goes on beside the window, ``--seconds`` s or until it ends;
4. (real engine) transitions, each timed from the action until the window settles: stop,
   start, the stream killed (until ``lost``), the stream back (until ``running``), a bad
   model file chosen (until ``error``) and the good model chosen again (until ``running``).

A stall is the longest time the GUI thread did not answer a 5 ms timer: what a user would feel
as a frozen window. Targets: 25 fps or more, no stall over 50 ms.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_fps.py            # about 5.5 minutes
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LSLAPICFG", str(Path(__file__).resolve().parents[1] / "tests"
                                       / "lsl_api.cfg"))

import numpy as np
from PySide6 import QtCore, QtWidgets

from bci_app.gui.app import WINDOW_SIZE, apply_theme, real_engine_factory
from bci_app.gui.fake_engine import FakeEngine, default_config
from bci_app.gui.main_window import MainWindow

TARGET_FPS = 25.0
TARGET_STALL_MS = 50.0


class PaintCounter(QtCore.QObject):
    """Counts paint events of one widget."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:
        """Count and pass on."""
        if event.type() == QtCore.QEvent.Paint:
            self.count += 1
        return False


class StallProbe:
    """A 5 ms timer on the GUI thread; the gaps between its shots are the stalls."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._timer = QtCore.QTimer()
        self._timer.setTimerType(QtCore.Qt.PreciseTimer)
        self._timer.timeout.connect(lambda: self.times.append(time.perf_counter()))
        self._timer.start(5)

    def stalls_ms(self, t0: float, t1: float) -> np.ndarray:
        """Gaps (ms) between shots in [t0, t1]."""
        t = np.array([x for x in self.times if t0 <= x <= t1])
        return np.diff(t) * 1000 if t.size > 1 else np.array([np.inf])

    def stop(self) -> None:
        """Stop the timer."""
        self._timer.stop()


def spin(seconds: float) -> None:
    """Run the event loop for ``seconds``."""
    loop = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def spin_until(predicate: Callable[[], bool], timeout: float) -> bool:
    """Run the event loop until ``predicate()`` or ``timeout`` s; returns the predicate."""
    deadline = time.perf_counter() + timeout
    while not predicate() and time.perf_counter() < deadline:
        spin(0.02)
    return predicate()


def run_phase(window: MainWindow, seconds: float, painter: PaintCounter,
              probe: StallProbe) -> dict[str, float]:
    """Let the event loop run ``seconds`` and summarise ticks, repaints, updates and stalls."""
    window.tick_times.clear()
    window.update_seconds.clear()
    painter.count = 0
    cpu0, t0 = time.process_time(), time.perf_counter()
    spin(seconds)
    t1 = time.perf_counter()
    wall = t1 - t0
    stalls = probe.stalls_ms(t0, t1)
    ticks = np.array(window.tick_times)
    upd = np.array(window.update_seconds) * 1000
    return {"ticks_per_s": ticks.size / wall, "fps": painter.count / wall,
            "update_mean_ms": float(upd.mean()), "update_p95_ms": float(np.percentile(upd, 95)),
            "update_max_ms": float(upd.max()), "stall_p99_ms": float(np.percentile(stalls, 99)),
            "max_stall_ms": float(stalls.max()),
            "cpu_percent": 100 * (time.process_time() - cpu0) / wall}


class ReplayProcess:
    """``bci-replay --loop`` on the demo recording in a child process (restartable)."""

    def __init__(self, name: str) -> None:
        from bci_app.demo import demo_recording

        self.name = name
        self.recording = demo_recording()
        self.proc: subprocess.Popen[bytes] | None = None
        self._dead: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        """Start streaming."""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bci_app.replay", str(self.recording), "--name",
             self.name, "--source-id", self.name, "--loop"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def kill(self) -> None:
        """Stop streaming at once (as a crashed amplifier would); reaped by :meth:`reap`."""
        if self.proc is not None:
            self.proc.kill()  # no wait here: it would block the GUI thread being measured
            self._dead.append(self.proc)
            self.proc = None

    def reap(self) -> None:
        """Stop streaming and wait for every process started."""
        self.kill()
        for proc in self._dead:
            proc.wait(5)


def start_training(folder: Path, model: Path) -> Any:
    """A calibration training as the Calibrate panel starts it, on synthetic trials."""
    from bci_app.calibration.buffer import LabelledTrial, write_calibration_fif
    from bci_app.calibration.job import TrainingJob
    from models import load_model

    meta = load_model(model).meta
    sfreq, n_ch = float(meta.sfreq), len(meta.channel_names)
    rng = np.random.default_rng(0)
    times = np.arange(int(90 * sfreq)) / sfreq
    data = rng.normal(0.0, 10.0, (n_ch, times.size)).astype(np.float32)
    trials = [LabelledTrial(k + 1, meta.class_names[k % len(meta.class_names)], 10.0 * k,
                            10.0 * k + 9.9) for k in range(9)]
    fif = write_calibration_fif(folder / "bench_raw.fif", data, times, meta.channel_names,
                                sfreq, trials)
    job = TrainingJob(fif, folder, folder / "bench.safetensors", meta.class_names, init=model)
    job.start()
    return job


def transitions(window: MainWindow, probe: StallProbe, replay: ReplayProcess,
                bad_model: Path, good_model: Path) -> list[tuple[str, float, float, bool]]:
    """Drive the window through the transitions; (name, seconds, max stall ms, reached)."""
    rows = []

    def step(name: str, action: Callable[[], None], until: Callable[[], bool],
             timeout: float) -> None:
        spin(1.0)
        t0 = time.perf_counter()
        action()
        ok = spin_until(until, timeout)
        spin(0.5)  # the first redraws after the change
        t1 = time.perf_counter()
        rows.append((name, t1 - t0 - 0.5, float(probe.stalls_ms(t0, t1).max()), ok))

    def running() -> bool:
        return window.state == "running"

    step("stop", window.stop_engine, lambda: window.state == "stopped", 15)
    step("start", window.start_engine, running, 30)
    step("stream killed -> lost", replay.kill, lambda: window.state == "lost", 15)
    step("stream back -> running", replay.start, running, 30)
    step("bad model chosen -> error", lambda: window._on_model_chosen(bad_model),
         lambda: window.state == "error", 30)
    step("good model again -> running", lambda: (window._on_model_chosen(good_model),
                                                 window.start_engine()), running, 30)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the phases and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=120.0,
                        help="duration of phases 1 and 2 (default 120: long enough for the "
                             "3-minute views to fill, which shorter runs do not measure)")
    parser.add_argument("--engine", choices=("fake", "real"), default="real")
    parser.add_argument("--hz", type=float, default=30.0, help="GUI timer rate")
    args = parser.parse_args(argv)

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    apply_theme(app)
    replay: ReplayProcess | None = None
    if args.engine == "fake":
        factory: Any = lambda cfg: FakeEngine(cfg, n_channels=62)  # noqa: E731
        config = default_config()
    else:
        from bci_app.engine.engine import use_one_inference_thread
        from models.io import warm_up_tracing

        use_one_inference_thread()  # as bci-app does
        warm_up_tracing()
        replay = ReplayProcess(f"gui-bench-{uuid.uuid4().hex[:6]}")
        replay.start()
        factory = real_engine_factory
        config = default_config(stream=replay.name, source_id=replay.name, outlet_name=None)
    window = MainWindow(factory, config, stream_lister=lambda: [], autostart=True,
                        refresh_hz=args.hz)
    window.resize(*WINDOW_SIZE)
    window.show()
    painter = PaintCounter()
    window.traces.plot_widget.viewport().installEventFilter(painter)
    probe = StallProbe()
    try:
        if not spin_until(lambda: window.state == "running", 40):
            print(f"engine did not reach 'running' (state {window.state!r}: "
                  f"{window.status_panel.message.text()})", file=sys.stderr)
            return 1
        rows = []
        for label, all_channels in (("frontal+temporal (20 ch)", False),
                                    ("all channels (62)", True)):
            window.traces.all_box.setChecked(all_channels)
            spin(2.0)  # settle
            rows.append((label, run_phase(window, args.seconds, painter, probe)))
        with tempfile.TemporaryDirectory() as tmp:
            job = start_training(Path(tmp), Path(config.model))
            try:
                spin(2.0)  # the trainer's start-up (imports) is part of what is measured
                rows.append(("62 ch + calibration training",
                             run_phase(window, args.seconds, painter, probe)))
            finally:
                running = job.poll() is None
                job.cancel()
            if not running:
                print(f"note: the training ended within the phase ({job.last_error()})",
                      file=sys.stderr)
        events = []
        if replay is not None:
            with tempfile.TemporaryDirectory() as tmp:
                bad = Path(tmp) / "corrupt.safetensors"
                bad.write_bytes(b"this is not a model file")
                events = transitions(window, probe, replay, bad, Path(config.model))
    finally:
        probe.stop()
        window.close()
        window.shutdown()
        if replay is not None:
            replay.reap()

    print(f"GUI benchmark: engine={args.engine}, 62 model channels, timer {args.hz:g} Hz, "
          f"{args.seconds:g} s per phase, window {WINDOW_SIZE[0]}x{WINDOW_SIZE[1]}, Qt platform "
          f"{QtWidgets.QApplication.platformName()}, {os.cpu_count()} CPUs")
    print(f"{'traces':30s} {'ticks/s':>8s} {'fps':>6s} {'upd mean':>9s} {'upd p95':>8s} "
          f"{'upd max':>8s} {'stall p99':>9s} {'max stall':>9s} {'cpu %':>6s} {'fps/25':>7s} "
          f"{'stall/50ms':>10s}")
    for label, r in rows:
        print(f"{label:30s} {r['ticks_per_s']:8.1f} {r['fps']:6.1f} "
              f"{r['update_mean_ms']:7.2f}ms {r['update_p95_ms']:6.2f}ms "
              f"{r['update_max_ms']:6.2f}ms {r['stall_p99_ms']:7.1f}ms "
              f"{r['max_stall_ms']:7.1f}ms {r['cpu_percent']:6.0f} "
              f"{r['fps'] / TARGET_FPS:7.2f} {r['max_stall_ms'] / TARGET_STALL_MS:10.2f}")
    if events:
        print(f"\n{'transition':30s} {'took':>7s} {'max stall':>10s} {'stall/50ms':>10s}")
        for name, took, stall, ok in events:
            print(f"{name:30s} {took:6.1f}s {stall:8.1f}ms {stall / TARGET_STALL_MS:10.2f}"
                  + ("" if ok else "   (did not reach the expected state)"))
    print("\nupd: GUI-thread time of one timer slot (30 Hz tick or panel redraw); stall: longest "
          "time the GUI thread did not answer a 5 ms timer (target < 50 ms); cpu %: whole "
          "process (engine threads included)")
    return 0 if all(ok for *_, ok in events) else 1


if __name__ == "__main__":
    raise SystemExit(main())
