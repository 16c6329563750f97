"""The live window: top bar, emotion trajectory, regional activity, head map, traces, status.

One ``QTimer`` (30 Hz by default) pulls ``engine.drain_results()``, ``engine.status()`` and
``engine.recent_samples()`` and redraws. Everything that may take time (building and starting an
engine, stopping it, discovering LSL streams, reading a model's metadata) runs in a Python
thread whose outcome comes back through a queued Qt signal, so the GUI thread never waits.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from bci_app.engine.config import EngineConfig
from bci_app.engine.contract import STOP_TIMEOUT_S, EngineFactory, EngineLike, StreamLister
from bci_app.engine.state import EngineState, EngineStatus, done_line
from bci_app.heap import freeze_heap
from models.eeg.seed_layout import SEED_CHANNELS, SEED_CLASS_NAMES
from models.metadata import ModelFileError, read_metadata
from models.preprocessing import FilterSpec

from .calibration_panel import CalibrationPanel, CalibratorFactory, CalibratorLike
from .plots import BandPowerPanel, HeadMapPanel, RingBuffer, TracesPanel, TrajectoryPanel
from .widgets import STARTING, STOPPING, ModelInfo, SettingsDialog, StatusPanel, TopBar

if TYPE_CHECKING:
    from bci_app.lsl.streams import StreamDescription

__all__ = ["MainWindow", "read_model_info"]

def _default_stream_lister() -> list[StreamDescription]:
    """LSL discovery through ``bci_app.lsl.streams.list_streams`` (imported on first use)."""
    from bci_app.lsl.streams import list_streams

    return list_streams(timeout=1.0)


def read_model_info(path: Path) -> ModelInfo:
    """Read a model file's metadata header only (no weights, no torch): synthetic or trained,
    its classes, channels and filter chain."""
    try:
        meta = read_metadata(path)
    except (ModelFileError, OSError) as exc:  # an unreadable file is reported, never raised
        return ModelInfo(Path(path), None, "", error=str(exc))
    filters = meta.preprocessing.filters
    summary = (f"{meta.config.n_channels} ch · {meta.sfreq:g} Hz · "
               f"{meta.window_seconds:g} s windows · {len(meta.class_names)} classes "
               f"({', '.join(meta.class_names)}) · "
               f"{filters.describe() if filters else 'no filter chain declared'} · "
               f"{meta.protocol or 'protocol n/a'}")
    return ModelInfo(Path(path), meta.synthetic, summary, class_names=tuple(meta.class_names),
                     channel_names=tuple(meta.channel_names), filters=filters,
                     sfreq=float(meta.sfreq))


def _ended(engine: EngineLike) -> str:
    """The terminal's line for a session that has stopped (see :func:`done_line`)."""
    return done_line(engine.status(), getattr(engine, "summary_path", None),
                     getattr(engine, "recording_path", None))


def _stop_calibrator(calibrator: CalibratorLike | None) -> None:
    """Stop a calibrator before its engine (in a worker thread; errors are printed)."""
    if calibrator is None:
        return
    try:
        calibrator.stop()
    except Exception:  # the engine must still stop
        traceback.print_exc()


class _Bridge(QtCore.QObject):
    """Carries worker-thread outcomes to the GUI thread (queued connections)."""

    started = QtCore.Signal(object, int)  # engine, generation
    start_failed = QtCore.Signal(str, int)
    stopped = QtCore.Signal(int, str)  # generation, error text ("" when clean)
    streams = QtCore.Signal(object, str)  # list of descriptions, error text
    model_info = QtCore.Signal(object)
    recording = QtCore.Signal(str, bool)  # message, whether it is an error


LAG_REDRAW_S = 0.5
"""While no window is predicted, the per-window panels are redrawn this often (s) so that
their time axes go on running."""
_LAGGING = (EngineState.LOST, EngineState.STALLED, EngineState.RECONNECTING,
            EngineState.WARMING_UP, EngineState.BAD_SIGNAL)


class MainWindow(QtWidgets.QMainWindow):
    """Main window of ``bci-app``. Emits ``closed`` once the window has been closed.

    Args:
        engine_factory: builds an engine from an ``EngineConfig`` (``bci_app.engine.Engine`` or
            a fake with the same methods). Called in a worker thread.
        config: initial ``EngineConfig``; the window edits copies (``dataclasses.replace``).
        stream_lister: returns the LSL streams (default ``bci_app.lsl.streams.list_streams``);
            called in a worker thread.
        autostart: start the engine as soon as the window exists.
        refresh_hz: plot refresh rate.
        trajectory_seconds: time span of the trajectory and band-power plots.
        trace_seconds: time span of the EEG traces.
        calibrator_factory: builds the Calibrate panel's calibrator for the running engine
            (default: :func:`bci_app.gui.calibration_panel.default_calibrator_factory`).
        calibration: the command line's calibration plan (``--calibrate-trials``...,
            :func:`bci_app.cli.calibration_plan`): the Calibrate panel takes its fields and
            starts calibrating as soon as the session runs.
    """

    closed = QtCore.Signal()

    def __init__(self, engine_factory: EngineFactory, config: EngineConfig, *,
                 stream_lister: StreamLister | None = None, autostart: bool = False,
                 refresh_hz: float = 30.0, trajectory_seconds: float = 180.0,
                 trace_seconds: float = 10.0,
                 calibrator_factory: CalibratorFactory | None = None,
                 calibration: dict[str, Any] | None = None,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("SI-CLEER live emotion BCI")
        self._factory = engine_factory
        self.config = config
        self._lister = stream_lister or _default_stream_lister
        self._engine: EngineLike | None = None
        self._generation = 0
        self._busy: str | None = None  # "starting" / "stopping" while a worker runs
        self._stop_after_start = False
        self._threads: list[threading.Thread] = []
        self._created: list[EngineLike] = []  # every engine built, for shutdown()
        self._created_lock = threading.Lock()
        self.done_lines: list[str] = []  # one per session that stopped (the terminal's record)
        self._t_ref: float | None = None
        self._last_status: EngineStatus | None = None
        self._tick_error_shown = 0.0
        self._next_lag_redraw = 0.0  # perf_counter() of the next redraw while lost
        self._newest_result_at = 0.0  # perf_counter() when the newest result arrived
        self._newest_sample = (float("nan"), 0.0)  # (LSL time, perf_counter() it came)
        self._trace_s = trace_seconds
        self._traj_s = trajectory_seconds
        self._bridge = _Bridge()
        self._bridge.started.connect(self._on_started)
        self._bridge.start_failed.connect(self._on_start_failed)
        self._bridge.stopped.connect(self._on_stopped)
        self._bridge.streams.connect(self._on_streams)
        self._bridge.model_info.connect(self._on_model_info)
        self._bridge.recording.connect(self._on_recording_done)
        self._calibrator_factory = calibrator_factory

        # performance counters (read by tests and benchmarks/gui_fps.py)
        self.tick_times: deque[float] = deque(maxlen=4096)  # perf_counter at each tick
        self.update_seconds: deque[float] = deque(maxlen=4096)  # time spent in each tick
        self.results_received = 0
        self._stale_panels: list[str] = []  # per-window panels still to redraw
        self._last_topo: np.ndarray | None = None
        self.trace_updates = 0

        self._model_info: ModelInfo | None = None  # of config.model, once read
        self._build_ui(config)
        if calibration is not None:
            self.calibration.preset(calibration)
        self._allocate(SEED_CLASS_NAMES)
        self._settings: SettingsDialog | None = None

        self.timer = QtCore.QTimer(self)
        self.timer.setTimerType(QtCore.Qt.PreciseTimer)
        self.timer.setInterval(max(1, round(1000 / refresh_hz)))
        self.timer.timeout.connect(self._tick)
        self.timer.start()
        # per-window panels are redrawn half a period after a tick, so their repaint and the
        # traces' repaint fall in different event-loop passes and input is served between
        self._panel_timer = QtCore.QTimer(self)
        self._panel_timer.setSingleShot(True)
        self._panel_timer.setTimerType(QtCore.Qt.PreciseTimer)
        self._panel_timer.setInterval(max(1, round(500 / refresh_hz)))
        self._panel_timer.timeout.connect(self._panel_tick)

        self.refresh_streams()
        self._read_model_info(Path(config.model))
        if autostart:
            QtCore.QTimer.singleShot(0, self.start_engine)

    # -- layout -------------------------------------------------------------------------------
    def _build_ui(self, config: EngineConfig) -> None:
        self.top_bar = TopBar(Path(config.model), config.log)
        self.status_panel = StatusPanel()
        self.setStatusBar(self.status_panel)
        channel_names = list(SEED_CHANNELS)  # until the model file or an engine tells
        self.trajectory = TrajectoryPanel(SEED_CLASS_NAMES, span=self._traj_s)
        self.bands = BandPowerPanel(span=self._traj_s, channel_names=channel_names)
        self.head_map = HeadMapPanel(channel_names)
        self.traces = TracesPanel(channel_names, seconds=self._trace_s)

        left = QtWidgets.QSplitter(QtCore.Qt.Vertical)
        left.addWidget(self.trajectory)
        left.addWidget(self.traces)
        left.setSizes([420, 480])
        right = QtWidgets.QSplitter(QtCore.Qt.Vertical)
        right.addWidget(self.bands)
        right.addWidget(self.head_map)
        right.setSizes([520, 380])
        body = QtWidgets.QSplitter(QtCore.Qt.Horizontal)
        body.addWidget(left)
        body.addWidget(right)
        body.setStretchFactor(0, 3)
        body.setStretchFactor(1, 2)
        body.setSizes([812, 600])  # beside the Calibrate dock both titles fit at 1680 px
        central = QtWidgets.QWidget()
        col = QtWidgets.QVBoxLayout(central)
        col.setContentsMargins(4, 0, 4, 0)
        col.setSpacing(2)
        col.addWidget(body, 1)
        self.setCentralWidget(central)
        # the Calibrate panel docks on the right: its messages wrap downwards there, so a long
        # one never resizes (and repaints) the plots
        self.calibration = CalibrationPanel(self._calibrator_factory, spawn=self._spawn)
        dock = QtWidgets.QDockWidget("Calibrate", self)
        dock.setObjectName("calibrationDock")
        dock.setWidget(self.calibration)
        self.addDockWidget(QtCore.Qt.RightDockWidgetArea, dock)
        self.resizeDocks([dock], [256], QtCore.Qt.Horizontal)
        self.calibration_dock = dock
        # the top bar spans the window above the dock (a fixed tool bar), with the dock's
        # show / hide button (hidden, the plots get its width)
        bar = QtWidgets.QToolBar("Session", self)
        bar.setObjectName("topBar")
        bar.setMovable(False)
        bar.setFloatable(False)
        bar.setContextMenuPolicy(QtCore.Qt.PreventContextMenu)
        bar.toggleViewAction().setVisible(False)
        bar.addWidget(self.top_bar)
        toggle = dock.toggleViewAction()
        toggle.setText("Calibrate")
        toggle.setToolTip("show or hide the Calibrate panel")
        bar.addAction(toggle)
        self.addToolBar(QtCore.Qt.TopToolBarArea, bar)

        tb = self.top_bar
        tb.start_requested.connect(self.start_engine)
        tb.stop_requested.connect(self.stop_engine)
        tb.refresh_requested.connect(self.refresh_streams)
        tb.stream_changed.connect(self._on_stream_chosen)
        tb.model_changed.connect(self._on_model_chosen)
        tb.record_changed.connect(self._on_record)
        tb.settings_requested.connect(self._show_settings)
        QtGui.QShortcut(QtGui.QKeySequence("Ctrl+Q"), self, activated=self.close)

    def _show_model(self, class_names: Sequence[str], channel_names: Sequence[str]) -> None:
        """Lay the panels out for a model's classes and channels (legend, colours, chance
        line, region and asymmetry notes, head map, traces); the plot buffers start afresh."""
        self.trajectory.set_classes(class_names)
        self.bands.set_channels(channel_names)
        self.head_map.set_channels(channel_names)
        self.traces.set_channels(channel_names)
        self._allocate(class_names)

    def _allocate(self, class_names: Sequence[str]) -> None:
        """Preallocate the plot buffers (one row per prediction)."""
        k = len(class_names)
        cap = 8192
        self._t_buf = RingBuffer(cap, 1)
        self._smooth_buf = RingBuffer(cap, k)
        self._pred_buf = RingBuffer(cap, 1)
        self._truth_buf = RingBuffer(cap, 1)
        self._band_buf = {r: RingBuffer(cap, 5) for r in BandPowerPanel.REGIONS}
        self._faa_buf = RingBuffer(cap, 1)
        self._t_ref = None

    # -- engine lifecycle ---------------------------------------------------------------------
    @property
    def engine(self) -> EngineLike | None:
        """The running engine (None while stopped, starting or stopping)."""
        return self._engine

    @property
    def state(self) -> str:
        """What the status badge shows (engine state, or starting/stopping/idle)."""
        return self.status_panel.state.text()

    def start_engine(self) -> None:
        """Build and start an engine from ``self.config`` in a worker thread."""
        if self._busy is not None:
            return
        old = self._engine
        self._engine = None
        calibrator = self._detach_calibrator("the session restarted")
        self._generation += 1
        gen = self._generation
        self._busy = "starting"
        self._stop_after_start = False
        self.top_bar.set_running(False, busy=True)
        self.status_panel.set_state(STARTING)
        self.status_panel.clear_error()
        config = self.config
        factory = self._factory
        bridge = self._bridge
        created, lock, done = self._created, self._created_lock, self.done_lines

        def work() -> None:
            _stop_calibrator(calibrator)
            if old is not None:
                try:
                    old.stop(STOP_TIMEOUT_S)
                    done.append(_ended(old))
                except Exception:  # the old engine is being replaced anyway
                    traceback.print_exc()
            try:
                engine = factory(config)
                with lock:
                    created.append(engine)
                engine.start()
            except Exception as exc:
                bridge.start_failed.emit(f"could not start: {type(exc).__name__}: {exc}", gen)
                return
            bridge.started.emit(engine, gen)

        self._spawn(work, "engine-start")

    def stop_engine(self) -> None:
        """Stop the engine in a worker thread (the GUI keeps running)."""
        if self._busy == "starting":
            self._stop_after_start = True
            return
        engine = self._engine
        if engine is None or self._busy is not None:
            return
        self._drain(engine)  # keep what already arrived
        self._engine = None
        self._busy = "stopping"
        self.top_bar.set_running(False, busy=True)
        self.status_panel.set_state(STOPPING)
        self._stop_in_thread(engine, self._generation,
                             self._detach_calibrator("the session stopped"))

    def _detach_calibrator(self, reason: str) -> CalibratorLike | None:
        """Take the Calibrate panel's calibrator away from the engine about to stop."""
        calibrator = self.calibration.detach(reason)
        self.calibration.set_engine(None)
        return calibrator

    def _stop_in_thread(self, engine: EngineLike | None, gen: int,
                        calibrator: CalibratorLike | None = None) -> None:
        """Stop ``calibrator`` (it may block while it cancels a training), then ``engine``,
        in a worker thread."""
        bridge, created, lock = self._bridge, self._created, self._created_lock
        done = self.done_lines

        def work() -> None:
            _stop_calibrator(calibrator)
            err = ""
            try:
                if engine is not None:
                    engine.stop(STOP_TIMEOUT_S)
                    done.append(_ended(engine))
            except Exception as exc:
                err = f"stop failed: {type(exc).__name__}: {exc}"
            with lock:
                if engine in created:
                    created.remove(engine)
            bridge.stopped.emit(gen, err)

        self._spawn(work, "engine-stop")

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        self._threads = [t for t in self._threads if t.is_alive()]
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _on_started(self, engine: EngineLike, gen: int) -> None:
        if gen != self._generation:  # superseded: stop it quietly
            self._stop_in_thread(engine, -1)
            return
        self._busy = None
        if self._stop_after_start:
            self._engine = engine
            self.stop_engine()
            return
        self._engine = engine
        self.calibration.set_engine(engine)
        freeze_heap()  # a full garbage collection of the loaded libraries froze the GUI 178 ms
        self._show_model(list(engine.class_names), list(engine.channel_names))
        meta = getattr(engine, "meta", None)
        known = self._model_info is not None and not self._model_info.error
        if not known and meta is not None and getattr(meta, "synthetic", None) is not None:
            self.top_bar.set_model_info(ModelInfo(Path(self.config.model),
                                                  bool(meta.synthetic), "from the engine"))
        self.top_bar.set_running(True)

    def _on_start_failed(self, message: str, gen: int) -> None:
        if gen != self._generation:
            return
        self._busy = None
        self.top_bar.set_running(False)
        self.status_panel.set_state(EngineState.ERROR, message)
        self.status_panel.show_error(message)

    def _on_stopped(self, gen: int, error: str) -> None:
        if gen != self._generation:
            return
        self._busy = None
        self.top_bar.set_running(False)
        self.status_panel.set_state(EngineState.STOPPED)
        self.status_panel.set_recording("")
        self.status_panel.set_session("", "")
        if error:
            self.status_panel.show_error(error)

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop the timer and the engine; wait for worker threads (use after the event loop)."""
        self.timer.stop()
        self._panel_timer.stop()
        self.calibration.timer.stop()
        engine, self._engine = self._engine, None
        calibrator = self._detach_calibrator("the window closed")
        if engine is not None or calibrator is not None:
            self._stop_in_thread(engine, -1, calibrator)
        deadline = time.monotonic() + timeout
        for t in list(self._threads):
            t.join(max(0.0, deadline - time.monotonic()))
        with self._created_lock:  # engines whose start finished after the event loop ended
            engines, self._created[:] = list(self._created), []
        for e in engines:
            try:
                e.stop(max(0.1, deadline - time.monotonic()))  # idempotent by contract
                self.done_lines.append(_ended(e))
            except Exception:
                traceback.print_exc()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        """Stop the engine without blocking the GUI thread."""
        self.timer.stop()
        self._panel_timer.stop()
        self.calibration.timer.stop()
        engine, self._engine = self._engine, None
        calibrator = self._detach_calibrator("the window closed")
        if engine is not None or calibrator is not None:
            self._stop_in_thread(engine, -1, calibrator)
        if self._settings is not None:
            self._settings.close()
        super().closeEvent(event)
        self.closed.emit()

    # -- periodic update ----------------------------------------------------------------------
    def _tick(self) -> None:
        t0 = time.perf_counter()
        self.tick_times.append(t0)
        engine = self._engine
        if engine is not None:
            try:
                self._update_from(engine)
            except Exception as exc:  # an engine or plotting bug must not kill the GUI
                self._display_error(exc)
        self.update_seconds.append(time.perf_counter() - t0)

    def _update_from(self, engine: EngineLike) -> None:
        status = engine.status()
        self._last_status = status
        self.status_panel.update_status(status)
        ended = status.state in (EngineState.STOPPED, EngineState.ERROR)
        if self._busy is None:
            self.top_bar.set_running(not ended)
        if ended and self.calibration.calibrator is not None:  # the session ended by itself
            calibrator = self._detach_calibrator(f"the session is {status.state}")
            self._spawn(lambda: _stop_calibrator(calibrator), "calibration-stop")
        self._drain(engine)
        lag = self._lag(status)
        if lag and not self._stale_panels and time.perf_counter() >= self._next_lag_redraw:
            self._next_lag_redraw = time.perf_counter() + LAG_REDRAW_S  # keep scrolling
            self._stale_panels = ["trajectory", "bands"]
            if not self._panel_timer.isActive():
                self._panel_timer.start()
        if status.state in (EngineState.RUNNING, EngineState.WARMING_UP, EngineState.LOST,
                            EngineState.RECONNECTING, EngineState.STALLED,
                            EngineState.BAD_SIGNAL):
            data, times = engine.recent_samples(self._trace_s)
            if len(times) > 1:
                now = time.perf_counter()
                if float(times[-1]) != self._newest_sample[0]:
                    self._newest_sample = (float(times[-1]), now)
                self.traces.update_data(np.asarray(data), np.asarray(times),
                                        lag=self._lag(status, self._newest_sample[1]))
                self.trace_updates += 1

    def _lag(self, status: EngineStatus | None, since: float | None = None) -> float:
        """Seconds since the newest result (or since the ``perf_counter()`` time ``since``)
        arrived while no window is predicted (stream lost, stalled, reconnecting, warming up
        again, bad signal: the plots go on scrolling), else 0. Measured on this machine's
        clock, so it needs no stream clock."""
        if status is None or status.state not in _LAGGING:
            return 0.0
        since = self._newest_result_at if since is None else since
        return max(0.0, time.perf_counter() - since) if since else 0.0

    def _panel_tick(self) -> None:
        """Redraw the next stale per-window panel (trajectory, band power, head map)."""
        if not self._stale_panels:
            return
        t0 = time.perf_counter()
        try:
            self._redraw_panel(self._stale_panels.pop(0), self._last_status)
        except Exception as exc:  # a plotting bug must not kill the GUI
            self._display_error(exc)
        if self._stale_panels:
            self._panel_timer.start()
        self.update_seconds.append(time.perf_counter() - t0)

    def _display_error(self, exc: Exception) -> None:
        """Report a failed display update (at most every 2 s: it may repeat on every tick)."""
        now = time.perf_counter()
        if now - self._tick_error_shown > 2.0:
            self._tick_error_shown = now
            traceback.print_exc()
            self.status_panel.show_error(f"display update failed: {type(exc).__name__}: {exc}")

    def _drain(self, engine: EngineLike) -> int:
        """Append new results to the buffers; returns how many arrived."""
        results = engine.drain_results()
        for r in results:
            if len(r.smoothed) != self._smooth_buf.width:  # a model with other classes
                self._show_model(list(engine.class_names), list(engine.channel_names))
            if self._t_ref is None:
                self._t_ref = float(r.lsl_time)
            self._t_buf.append(float(r.lsl_time) - self._t_ref)
            self._smooth_buf.append(np.asarray(r.smoothed, dtype=float))
            self._pred_buf.append(r.predicted)
            self._truth_buf.append(-1 if r.truth is None else r.truth)
            for region in BandPowerPanel.REGIONS:
                power = (r.band_power or {}).get(region)  # absent when no channel of a region
                self._band_buf[region].append(np.nan if power is None
                                              else np.asarray(power, dtype=float))
            self._faa_buf.append(r.faa)
        if results:
            self._newest_result_at = time.perf_counter()
            self.results_received += len(results)
            self._last_topo = np.asarray(results[-1].topo)
            # one panel per timer shot: redrawing (and so repainting) all three at once held
            # the GUI thread for up to ~100 ms
            self._stale_panels = ["trajectory", "bands", "head_map"]
            if not self._panel_timer.isActive():
                self._panel_timer.start()
        return len(results)

    def _redraw_panel(self, panel: str, status: EngineStatus | None) -> None:
        """Redraw one of the per-window panels from the buffers (the rows in view only: the
        cost of a redraw must not grow with the length of the session)."""
        t = self._t_buf.view()[:, 0]
        lag = self._lag(status)
        first = int(np.searchsorted(t, t[-1] + lag - self._traj_s - 1.0)) if t.size else 0
        t = t[first:]
        if panel == "trajectory":
            self.trajectory.update_data(t, self._smooth_buf.view()[first:],
                                        self._pred_buf.view()[first:, 0],
                                        self._truth_buf.view()[first:, 0], lag=lag)
            self._mark_trials(lag)
            stats = status.stats if status is not None else None
            self.trajectory.set_accuracy(stats.online_accuracy if stats else None,
                                         stats.n_with_truth if stats else 0)
        elif panel == "bands":
            self.bands.update_data(t, {r: b.view()[first:] for r, b in self._band_buf.items()},
                                   self._faa_buf.view()[first:, 0], lag=lag)
        elif self._last_topo is not None:
            self.head_map.update_topo(self._last_topo)

    def _mark_trials(self, lag: float = 0.0) -> None:
        """Ticks at the trial starts in view, from the engine's marker tracker (if any)."""
        tracker = getattr(self._engine, "marker_tracker", None)
        t = self._t_buf.view()
        if tracker is None or self._t_ref is None or not len(t):
            self.trajectory.set_trial_marks([], [])
            return
        newest = self._t_ref + float(t[-1, 0])  # LSL time of the newest window
        spans = tracker.spans(since=newest - self._traj_s)
        starts = [(s - newest - lag, f"{n} {label}" if n > 0 and label else (label or f"{n}"))
                  for n, label, s, _ in spans]
        self.trajectory.set_trial_marks([x for x, _ in starts], [text for _, text in starts])

    # -- top-bar actions ----------------------------------------------------------------------
    def refresh_streams(self) -> None:
        """Discover LSL streams in a worker thread."""
        self.top_bar.refresh_button.setEnabled(False)
        lister, bridge = self._lister, self._bridge

        def work() -> None:
            try:
                streams = list(lister())
            except Exception as exc:
                bridge.streams.emit([], f"stream discovery failed: {type(exc).__name__}: {exc}")
                return
            bridge.streams.emit(streams, "")

        self._spawn(work, "list-streams")

    def _on_streams(self, streams: list[StreamDescription], error: str) -> None:
        self.top_bar.refresh_button.setEnabled(True)
        self.top_bar.set_streams(streams, selected=self.config.stream)
        if error:
            self.status_panel.show_error(error)
        elif not streams:
            self.status_panel.show_info("no LSL stream found (refresh to look again)")

    def _on_stream_chosen(self, desc: StreamDescription) -> None:
        if desc is None:
            self._reconfigure(stream=None, source_id=None)
        else:
            self._reconfigure(stream=desc.name, source_id=desc.source_id or None)

    def _read_model_info(self, path: Path) -> None:
        bridge = self._bridge
        self._spawn(lambda: bridge.model_info.emit(read_model_info(path)), "model-info")

    def _on_model_info(self, info: ModelInfo) -> None:
        if Path(info.path) != Path(self.config.model):
            return  # another model was chosen meanwhile
        self._model_info = info
        self.top_bar.set_model_info(info)
        if info.error:
            self.status_panel.show_error(f"model {info.path.name}: {info.error}")
        elif self._engine is None and self._busy is None:
            # no engine to say otherwise: show the model's own classes and channels now
            self._show_model(info.class_names, info.channel_names)
        if self._settings is not None:
            self._load_settings()

    def _on_model_chosen(self, path: Path) -> None:
        self._model_info = None  # until the new file's header is read
        self._read_model_info(path)
        self._reconfigure(model=Path(path))

    def _on_record(self, on: bool, path: Path) -> None:
        if on:
            try:  # the default is sessions/session-<time>.csv under the working directory
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                self.status_panel.show_error(f"cannot create the log folder: {exc}")
                return
        log = Path(path) if on else None
        record = log.with_suffix(".xdf") if log is not None else None  # beside the log
        engine = self._engine
        if engine is None or self._busy is not None or not hasattr(engine, "start_recording"):
            self._reconfigure(log=log, record=record)  # applies at the (re)start
            self.status_panel.show_info(f"recording: log {log}, XDF {record} (LabRecorder)"
                                        if on else "recording off")
            return
        # the running session records from now on: no restart (the model in use, calibrated
        # or not, its outlet and the marker stream stay)
        self.config = dataclasses.replace(self.config, log=log, record=record)
        bridge = self._bridge
        self.status_panel.show_info(f"starting the recording: log {log}, XDF {record} "
                                    "(LabRecorder finds the streams; a few seconds)" if on
                                    else "finishing the recording (a few seconds)")

        def work() -> None:
            try:
                if on:
                    engine.start_recording(log, record)
                    bridge.recording.emit(f"recording: log {log}, XDF {record} (LabRecorder)",
                                          False)
                else:
                    engine.stop_recording()
                    bridge.recording.emit("recording off", False)
            except Exception as exc:  # a clear message; the session goes on
                bridge.recording.emit(f"recording failed: {exc}", True)

        self._spawn(work, "recording")

    def _on_recording_done(self, message: str, error: bool) -> None:
        """A worker's outcome of the Record button; a failure turns the button off."""
        if error:
            self.config = dataclasses.replace(self.config, log=None, record=None)
            button = self.top_bar.record_button
            button.blockSignals(True)
            button.setChecked(False)
            button.blockSignals(False)
        (self.status_panel.show_error if error else self.status_panel.show_info)(message)

    def _show_settings(self) -> None:
        if self._settings is None:
            self._settings = SettingsDialog(self.config, parent=self)
            self._settings.applied.connect(self._on_settings)
        self._load_settings()
        self._settings.show()
        self._settings.raise_()

    def _on_settings(self, values: dict[str, Any]) -> None:
        self._reconfigure(**values)
        self._load_settings()

    def _load_settings(self) -> None:
        """Show the chain the session runs: the model file's with the options given."""
        info = self._model_info
        known = info is not None and not info.error
        try:
            choice = self.config.resolve_filters(info.filters if known else None,
                                                 info.sfreq if known else None)
        except ValueError as exc:
            self._settings.load(self.config, FilterSpec(), f"⚠ {exc}")
            return
        self._settings.load(self.config, choice.spec, choice.warning or choice.note)

    def _reconfigure(self, **changes: Any) -> None:
        """Apply config changes; a running session restarts with them."""
        try:
            new = dataclasses.replace(self.config, **changes)
        except (TypeError, ValueError) as exc:
            self.status_panel.show_error(f"invalid setting: {exc}")
            return
        if new == self.config:
            return
        self.config = new
        if self._engine is not None and self._busy is None:
            self.start_engine()  # stops the old engine in the worker first

    # -- introspection for tests and benchmarks -------------------------------------------------
    def max_tick_interval(self, since: float = 0.0) -> float:
        """Longest gap (s) between consecutive timer ticks after perf_counter time ``since``."""
        ticks = np.array([t for t in self.tick_times if t >= since])
        return float(np.diff(ticks).max()) if ticks.size > 1 else float("inf")
