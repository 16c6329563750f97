"""Entry point of the GUI: ``run_gui(config, screenshot, duration)``.

``python -m bci_app.gui.app --demo-fake [--screenshot out.png --duration 5]`` opens the window
on the synthetic :class:`bci_app.gui.fake_engine.FakeEngine` (developer mode, no LSL or model).

Stop signals (Ctrl-C in the terminal, SIGTERM, SIGHUP) close the window exactly as Ctrl+Q
does: a Python handler asks Qt to close the window from its event loop. Python runs signal
handlers only between two bytecodes of the main thread, which sits in Qt's C++ loop; a
:data:`WAKE_MS` timer runs a no-op there, so the handler runs within that time even when
nothing else in the window is due.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from bci_app.engine.config import EngineConfig
from bci_app.engine.contract import STOP_TIMEOUT_S, EngineFactory, EngineLike, StreamLister
from bci_app.lsl.liblsl_log import mark_stopping, route_liblsl_log
from models.exit_codes import interrupted_code, on_stop_signals, say, signal_name

from .main_window import MainWindow

__all__ = ["apply_theme", "real_engine_factory", "run_gui"]

WINDOW_SIZE = (1680, 1000)
WAKE_MS = 200
"""Longest wait, in ms, between a stop signal and its handler while the event loop is idle."""


def real_engine_factory(config: EngineConfig) -> EngineLike:
    """Build ``bci_app.engine.Engine(config)`` (imported here: the GUI works without it)."""
    from bci_app.engine.engine import Engine

    return Engine(config)


def apply_theme(app: QtWidgets.QApplication) -> None:
    """Dark Fusion theme for widgets and matching pyqtgraph colours."""
    pg.setConfigOptions(background="#15181d", foreground="#c9d1d9", antialias=False)
    app.setStyle("Fusion")
    pal = QtGui.QPalette()
    c = QtGui.QColor
    roles = QtGui.QPalette.ColorRole
    for role, color in ((roles.Window, "#1e2228"), (roles.WindowText, "#d7dce2"),
                        (roles.Base, "#15181d"), (roles.AlternateBase, "#23272e"),
                        (roles.ToolTipBase, "#2b3038"), (roles.ToolTipText, "#e6e6e6"),
                        (roles.Text, "#d7dce2"), (roles.Button, "#2b3038"),
                        (roles.ButtonText, "#d7dce2"), (roles.Highlight, "#3d6fb6"),
                        (roles.HighlightedText, "#ffffff"), (roles.PlaceholderText, "#7d8590")):
        pal.setColor(role, c(color))
    pal.setColor(QtGui.QPalette.Disabled, roles.ButtonText, c("#5f6670"))
    pal.setColor(QtGui.QPalette.Disabled, roles.Text, c("#5f6670"))
    app.setPalette(pal)
    font = app.font()
    font.setPointSizeF(max(font.pointSizeF(), 10.0))
    app.setFont(font)


def run_gui(config: EngineConfig, screenshot: Path | None = None, duration: float | None = None, *,
            engine_factory: EngineFactory | None = None,
            stream_lister: StreamLister | None = None,
            calibration: dict[str, Any] | None = None) -> int:
    """Open the live window on ``config`` and run the Qt event loop.

    Args:
        config: ``EngineConfig``; the engine starts at once.
        screenshot: save a PNG of the whole window after ``duration`` seconds, then exit.
        duration: seconds to run before exiting (default 10 s with ``screenshot``; without it,
            None runs until the window is closed).
        engine_factory: builds the engine (default ``bci_app.engine.Engine``).
        stream_lister: LSL discovery (default ``bci_app.lsl.streams.list_streams``).
        calibration: the command line's calibration plan (:func:`bci_app.cli.calibration_plan`):
            the Calibrate panel starts with it once the session runs.

    Returns:
        Exit code (:mod:`models.exit_codes`): 0, 1 when the screenshot could not be written,
        128+N when stop signal N (SIGINT, SIGTERM, SIGHUP) closed the window; every way of
        closing stops the engine in order (log closed, summary written, outlet withdrawn).
    """
    existing = QtWidgets.QApplication.instance()
    app = existing or QtWidgets.QApplication(sys.argv[:1])
    # inside a running Qt program (tests) a local event loop leaves the application's own
    # state alone; a standalone run uses the application's loop
    loop = QtCore.QEventLoop() if existing is not None else app
    apply_theme(app)
    window = MainWindow(engine_factory or real_engine_factory, config,
                        stream_lister=stream_lister, autostart=True, calibration=calibration)
    window.resize(*WINDOW_SIZE)
    window.show()
    window.closed.connect(mark_stopping)  # liblsl: peers going away now are this stop's doing
    window.closed.connect(loop.quit)
    outcome = {"rc": 0}
    if screenshot is not None:
        seconds = 10.0 if duration is None else duration

        def grab() -> None:
            path = Path(screenshot)
            path.parent.mkdir(parents=True, exist_ok=True)
            if not window.grab().save(str(path)):
                print(f"bci-app: could not write screenshot {path}", file=sys.stderr)
                outcome["rc"] = 1
            else:
                print(f"bci-app: screenshot saved to {path}", flush=True)
            window.close()

        QtCore.QTimer.singleShot(int(seconds * 1000), grab)
    elif duration is not None:
        QtCore.QTimer.singleShot(int(duration * 1000), window.close)
    stop_signal: list[int] = []

    def on_signal(signum: int) -> None:  # runs in the GUI thread, between two bytecodes
        if not stop_signal:
            stop_signal.append(signum)
            mark_stopping()
            say(f"bci-app: {signal_name(signum)}: closing the window...", err=True)
            QtCore.QTimer.singleShot(0, window.close)  # the window's own way of closing

    wake = QtCore.QTimer()  # lets Python run its signal handlers while the loop is idle
    wake.timeout.connect(_no_op)
    with on_stop_signals(on_signal):
        wake.start(WAKE_MS)
        try:
            loop.exec()
        finally:
            wake.stop()
        window.shutdown(timeout=STOP_TIMEOUT_S)  # the window is gone; the session finishes
        for line in window.done_lines:  # each session the window ran, as headless ends one
            say(line)
    return interrupted_code(stop_signal[0]) if stop_signal else outcome["rc"]


def _no_op() -> None:
    """Slot of the wake-up timer: entering Python is all it is for."""


def main(argv: Sequence[str] | None = None) -> int:
    """Developer entry point (``--demo-fake`` runs on the synthetic engine)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--demo-fake", action="store_true",
                        help="use the synthetic fake engine (no LSL, no model)")
    parser.add_argument("--screenshot", type=Path, default=None)
    parser.add_argument("--duration", type=float, default=None)
    parser.add_argument("--lost-at", type=float, default=None,
                        help="fake engine: lose the stream this many seconds after start")
    args = parser.parse_args(argv)
    if not args.demo_fake:
        route_liblsl_log()  # the real engine reads LSL
    from .fake_engine import FakeEngine, default_config

    config = default_config()
    factory: EngineFactory = real_engine_factory
    lister: StreamLister | None = None
    if args.demo_fake:
        def factory(cfg: EngineConfig) -> EngineLike:
            engine = FakeEngine(cfg, n_interpolated=2)
            if args.lost_at is not None:
                threading_timer(args.lost_at, lambda: engine.simulate_loss(3.0))
            return engine

        lister = _fake_streams
    return run_gui(config, args.screenshot, args.duration, engine_factory=factory,
                   stream_lister=lister)


def threading_timer(delay: float, fn: Any) -> None:
    """Call ``fn`` after ``delay`` seconds in a daemon thread."""
    import threading

    t = threading.Timer(delay, fn)
    t.daemon = True
    t.start()


def _fake_streams() -> list[Any]:
    from types import SimpleNamespace

    return [SimpleNamespace(name="fake-eeg", stype="EEG", n_channels=62, sfreq=200.0,
                            host="localhost", source_id="fake-1"),
            SimpleNamespace(name="SI-CLEER", stype="Predictions", n_channels=3, sfreq=0.0,
                            host="localhost", source_id="sicleer")]


if __name__ == "__main__":
    raise SystemExit(main())
