"""GUI refresh benchmark: frames per second and time per GUI update with 62 channels.

Runs the live window (offscreen unless a display is set) on the synthetic
``bci_app.gui.fake_engine.FakeEngine`` (62 channels, 200 Hz, hop 0.25 s) or, with
``--engine real``, on ``bci_app.engine.Engine`` with its default configuration (start a stream
first, e.g. ``bci-replay``). Two phases: frontal + temporal traces (20 channels), then all 62.

Prints per phase: timer ticks per second, repaints per second of the traces plot (the frame
rate a user sees), time per GUI update (mean / p95 / max, the work done in the timer slot),
the longest gap between ticks, the longest stall (how long the GUI thread could not answer a
5 ms timer) and the ratios to the targets (25 fps, 50 ms).

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_fps.py --seconds 10
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PySide6 import QtCore, QtWidgets

from bci_app.gui.app import WINDOW_SIZE, apply_theme, real_engine_factory
from bci_app.gui.fake_engine import FakeEngine, default_config
from bci_app.gui.main_window import MainWindow

TARGET_FPS = 25.0
TARGET_GAP_MS = 50.0


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


def run_phase(app: QtWidgets.QApplication, window: MainWindow, seconds: float,
              painter: PaintCounter) -> dict[str, float]:
    """Let the event loop run ``seconds`` and summarise ticks, repaints and update times."""
    window.tick_times.clear()
    window.update_seconds.clear()
    painter.count = 0
    probe: list[float] = []  # a 5-ms timer: how long the GUI thread could not answer
    probe_timer = QtCore.QTimer()
    probe_timer.setTimerType(QtCore.Qt.PreciseTimer)
    probe_timer.timeout.connect(lambda: probe.append(time.perf_counter()))
    probe_timer.start(5)
    cpu0, t0 = time.process_time(), time.perf_counter()
    loop = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    wall = time.perf_counter() - t0
    probe_timer.stop()
    stalls = np.diff(probe) * 1000 if len(probe) > 1 else np.array([np.inf])
    ticks = np.array(window.tick_times)
    upd = np.array(window.update_seconds) * 1000
    gaps = np.diff(ticks) * 1000 if ticks.size > 1 else np.array([np.inf])
    return {"ticks_per_s": ticks.size / wall, "fps": painter.count / wall,
            "update_mean_ms": float(upd.mean()), "update_p95_ms": float(np.percentile(upd, 95)),
            "update_max_ms": float(upd.max()), "max_gap_ms": float(gaps.max()),
            "max_stall_ms": float(stalls.max()), "stall_p99_ms": float(np.percentile(stalls, 99)),
            "cpu_percent": 100 * (time.process_time() - cpu0) / wall}


def main(argv: list[str] | None = None) -> int:
    """Run both phases and print the table."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each phase")
    parser.add_argument("--engine", choices=("fake", "real"), default="fake")
    parser.add_argument("--hz", type=float, default=30.0, help="GUI timer rate")
    args = parser.parse_args(argv)

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    apply_theme(app)
    factory: Any = (lambda cfg: FakeEngine(cfg, n_channels=62)) if args.engine == "fake" \
        else real_engine_factory
    window = MainWindow(factory, default_config(), stream_lister=lambda: [], autostart=True,
                        refresh_hz=args.hz)
    window.resize(*WINDOW_SIZE)
    window.show()
    painter = PaintCounter()
    window.traces.plot_widget.viewport().installEventFilter(painter)

    deadline = time.perf_counter() + 30
    while window.state != "running" and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.01)
    if window.state != "running":
        print(f"engine did not reach 'running' (state {window.state!r}: "
              f"{window.status_panel.message.text()})", file=sys.stderr)
        window.shutdown()
        return 1

    rows = []
    for label, all_channels in (("frontal+temporal (20 ch)", False), ("all channels (62)", True)):
        window.traces.all_box.setChecked(all_channels)
        run_phase(app, window, 1.0, painter)  # settle
        rows.append((label, run_phase(app, window, args.seconds, painter)))
    window.close()
    window.shutdown()

    platform = QtWidgets.QApplication.platformName()
    print(f"GUI benchmark: engine={args.engine}, 62 model channels, timer {args.hz:g} Hz, "
          f"{args.seconds:g} s per phase, Qt platform {platform}, {os.cpu_count()} CPUs")
    head = (f"{'traces':26s} {'ticks/s':>8s} {'fps':>6s} {'upd mean':>9s} {'upd p95':>8s} "
            f"{'upd max':>8s} {'max gap':>8s} {'stall p99':>9s} {'max stall':>9s} {'cpu %':>6s} "
            f"{'fps/25':>7s} {'stall/50ms':>10s}")
    print(head)
    for label, r in rows:
        print(f"{label:26s} {r['ticks_per_s']:8.1f} {r['fps']:6.1f} "
              f"{r['update_mean_ms']:7.2f}ms {r['update_p95_ms']:6.2f}ms "
              f"{r['update_max_ms']:6.2f}ms {r['max_gap_ms']:6.1f}ms {r['stall_p99_ms']:7.1f}ms "
              f"{r['max_stall_ms']:7.1f}ms {r['cpu_percent']:6.0f} "
              f"{r['fps'] / TARGET_FPS:7.2f} {r['max_stall_ms'] / TARGET_GAP_MS:10.2f}")
    print("max gap: longest interval between the window's 30 Hz ticks (a 33 ms period included);"
          "\nstall: longest time the GUI thread did not answer a 5 ms timer (target < 50 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
