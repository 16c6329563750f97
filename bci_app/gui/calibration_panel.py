"""The window's Calibrate panel: collect the participant's labelled trials, train, use the model.

The panel drives a :class:`CalibratorLike` beside the running engine (by default
:class:`bci_app.calibration.controller.Calibrator`, which keeps the raw data, follows the
trials of the marker stream and runs ``sicleer-train`` in a separate process). It never waits:
the calibrator is built and started in a worker thread, stopped in one (stopping cancels a
training, which can take ~10 s), and read through its cheap ``status()`` snapshot four times a
second by a ``QTimer`` in the GUI thread. The window stops the calibrator before the engine
(:meth:`CalibrationPanel.detach`).
"""

from __future__ import annotations

import re
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from PySide6 import QtCore, QtWidgets

from bci_app.calibration.controller import SCRATCH, CalibrationPhase, CalibrationStatus
from bci_app.calibration.paths import calibration_paths

__all__ = ["DEFAULT_TRIALS", "REQUIRED_ENGINE_ATTRIBUTES", "CalibrationPanel",
           "CalibratorFactory", "CalibratorLike", "breakable",
           "calibration_unsupported", "default_calibrator_factory"]

DEFAULT_TRIALS = 9
"""Labelled trials after which training starts by itself (SEED's 15 trials: 9 train)."""

REQUIRED_ENGINE_ATTRIBUTES = ("set_raw_sink", "marker_tracker", "swap_model", "push_event",
                              "config", "class_names", "channel_names", "sfreq", "meta",
                              "window", "device")
"""What :class:`bci_app.calibration.controller.Calibrator` uses of the engine."""

PHASE_COLORS: dict[str, str] = {
    CalibrationPhase.COLLECTING: "#3d6fb6",
    CalibrationPhase.TRAINING: "#b8860b",
    CalibrationPhase.TRAINED: "#2e8b57",
    CalibrationPhase.SWAPPED: "#1e6b43",
    CalibrationPhase.FAILED: "#c0392b",
    CalibrationPhase.STOPPED: "#5a626d",
}
"""Background colour of the phase badge per :class:`CalibrationPhase`."""

_IDLE = "idle"
_ZWSP = "\u200b"  # a zero-width space: a place where a long path may wrap


class CalibratorLike(Protocol):
    """What the panel needs from a calibrator (:class:`bci_app.calibration.controller.
    Calibrator` has it; tests script a fake). Every method returns quickly except
    :meth:`stop`, which the panel and the window call in a worker thread."""

    def start(self) -> None:
        """Start keeping the raw data and watching the trials (returns at once)."""

    def train_now(self) -> None:
        """Train on the trials so far."""

    def use_model(self) -> None:
        """Swap the trained model into the engine."""

    def stop(self, timeout: float = ...) -> None:
        """Stop; cancel a running training (may block for seconds). Idempotent."""

    def status(self) -> CalibrationStatus:
        """A cheap snapshot for display."""


CalibratorFactory = Callable[[Any, dict[str, Any]], CalibratorLike]
"""Builds a calibrator for a running engine from the panel's options (``trials_needed``: int
or None, ``start_from``: None, ``SCRATCH`` or a model file, ``participant``: str or None,
``then_run``: bool, ``markers``: None to keep the session's marker stream and label map,
else ``(stream name or None, label map text or None)``; from the command line also
``train_args``, ``folder`` and ``model_path``); called in a worker thread."""

SESSION_MARKERS = "the session's"
"""First entry of the marker stream chooser: the stream the session follows already."""


def calibration_unsupported(engine: Any) -> str:
    """Why calibration cannot run beside ``engine`` ("" when it can)."""
    if engine is None:
        return "start the session first: calibration runs beside a running engine"
    missing = [name for name in REQUIRED_ENGINE_ATTRIBUTES if not hasattr(engine, name)]
    if missing:
        return (f"calibration needs the live engine (bci_app.engine.Engine); this session's "
                f"{type(engine).__name__} has no {', '.join(missing)}")
    return ""


def default_calibrator_factory(engine: Any, options: dict[str, Any]) -> CalibratorLike:
    """The real :class:`bci_app.calibration.controller.Calibrator` (one training thread),
    writing to :func:`calibration_paths` of the engine's recording."""
    from bci_app.calibration.controller import Calibrator

    options = dict(options)
    markers = options.pop("markers", None)
    if markers is not None:  # another marker stream or label map: the engine follows it
        engine.follow_markers(*markers)
    folder, model_path = options.pop("folder", None), options.pop("model_path", None)
    if folder is None or model_path is None:
        folder, model_path = calibration_paths(getattr(engine, "recording_path", None),
                                               folder=folder)
    return Calibrator(engine, folder, model_path=model_path, threads=1, **options)


def breakable(text: str, longest: int = 24) -> str:
    """``text`` with zero-width break opportunities in its long words (paths, ids): after
    ``/ \\ _ - .`` and every ``longest`` characters, so a word-wrapped label never needs to be
    wider than its panel and nothing is cut."""
    def split(word: str) -> str:
        if len(word) <= longest:
            return word
        word = re.sub(r"([/\\_.\-])(?=.)", rf"\1{_ZWSP}", word)
        return re.sub(rf"[^{_ZWSP}]{{{longest}}}(?=[^{_ZWSP}])", rf"\g<0>{_ZWSP}", word)

    return " ".join(split(w) for w in text.split(" "))


def _spawn_daemon(target: Callable[[], None], name: str) -> None:
    threading.Thread(target=target, name=name, daemon=True).start()


class _Bridge(QtCore.QObject):
    """Carries worker-thread outcomes to the GUI thread (queued connections)."""

    created = QtCore.Signal(object, int)  # calibrator, generation
    failed = QtCore.Signal(str, int)  # message, generation
    stopped = QtCore.Signal(bool)  # stopped from the panel (not by the window)
    listed = QtCore.Signal(object)  # marker stream names found on the network


class CalibrationPanel(QtWidgets.QWidget):
    """Calibrate for the participant: options, Start / Train now / Use this model, progress,
    status and result (see the module docstring).

    Args:
        calibrator_factory: builds the calibrator (default
            :func:`default_calibrator_factory`); called in a worker thread.
        spawn: runs ``target`` in a worker thread named ``name`` (default: a daemon thread;
            the window passes its own, which it joins at shutdown).
        refresh_ms: how often ``calibrator.status()`` is read.
    """

    def __init__(self, calibrator_factory: CalibratorFactory | None = None, *,
                 spawn: Callable[[Callable[[], None], str], None] | None = None,
                 refresh_ms: int = 250, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._factory = calibrator_factory or default_calibrator_factory
        self._spawn = spawn or _spawn_daemon
        self._engine: Any = None
        self._calibrator: CalibratorLike | None = None
        self._generation = 0
        self._starting = False  # a worker builds and starts a calibrator
        self._stopping = 0  # calibrators stopped from the panel, not yet finished
        self._last: CalibrationStatus | None = None
        self._use_sent = False
        self._reason_shown = ""  # why calibration cannot start, when the label says it
        self._bridge = _Bridge()
        self._bridge.created.connect(self._on_created)
        self._bridge.failed.connect(self._on_failed)
        self._bridge.stopped.connect(self._on_stopped)
        self._bridge.listed.connect(self._on_listed)
        self._listing = False
        self._preset_extra: dict[str, Any] = {}  # the command line's options (preset())
        self._autostart = False
        self._build()
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(refresh_ms)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self._update_controls()

    # -- layout -------------------------------------------------------------------------------
    def _build(self) -> None:
        col = QtWidgets.QVBoxLayout(self)
        col.setContentsMargins(6, 4, 6, 4)
        col.setSpacing(6)
        hint = QtWidgets.QLabel("Train a model for this participant on the session's labelled "
                                "trials; the session keeps running.")
        hint.setWordWrap(True)
        hint.setStyleSheet("color:#8b949e")
        col.addWidget(hint)

        form = QtWidgets.QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.AllNonFixedFieldsGrow)
        self.trials_box = QtWidgets.QSpinBox()
        self.trials_box.setRange(0, 500)
        self.trials_box.setValue(DEFAULT_TRIALS)
        self.trials_box.setSpecialValueText("Train now only")
        self.trials_box.setToolTip("finished labelled trials ('trial N start <label>' ... "
                                   "'trial N end <label>') after which training starts by "
                                   "itself; 0: only when Train now is pressed")
        self._trials_before = DEFAULT_TRIALS
        self.trials_box.valueChanged.connect(self._skip_one)
        self.start_from_box = QtWidgets.QComboBox()
        self.start_from_box.addItem("the running model", None)
        self.start_from_box.addItem("from scratch", SCRATCH)
        self.start_from_box.setToolTip("fine-tune the model predicting now, or train a new one "
                                       "with its channels, rate, window and filters")
        self.then_run_box = QtWidgets.QCheckBox("use it once trained")
        self.then_run_box.setToolTip("predict with the calibrated model as soon as it is "
                                     "trained, without pressing Use this model")
        self.participant_edit = QtWidgets.QLineEdit()
        self.participant_edit.setPlaceholderText("e.g. P07")
        self.participant_edit.setToolTip("participant id, written into the calibrated "
                                         "model's provenance")
        self.markers_box = QtWidgets.QComboBox()
        self.markers_box.addItem(SESSION_MARKERS, None)
        self.markers_box.setToolTip("the marker stream whose trials label the calibration "
                                    "(the stimulus program's); ↻ lists those on the network")
        self.markers_refresh = QtWidgets.QToolButton()
        self.markers_refresh.setText("↻")
        self.markers_refresh.setToolTip("list the marker streams on the network")
        self.markers_refresh.clicked.connect(self.list_marker_streams)
        markers_row = QtWidgets.QHBoxLayout()
        markers_row.setContentsMargins(0, 0, 0, 0)
        markers_row.addWidget(self.markers_box, 1)
        markers_row.addWidget(self.markers_refresh)
        self.labels_edit = QtWidgets.QLineEdit()
        self.labels_edit.setPlaceholderText("none needed for 'trial N start <label>'")
        self.labels_edit.setToolTip("marker text -> class, e.g. T1=fists,T2=feet or "
                                    "/^film_sad/=negative (a regular expression between "
                                    "slashes); the classes, in this order, are the "
                                    "calibrated model's")
        form.addRow("Trials needed", self.trials_box)
        form.addRow("Start from", self.start_from_box)
        form.addRow("", self.then_run_box)
        form.addRow("Participant", self.participant_edit)
        form.addRow("Marker stream", markers_row)
        form.addRow("Label map", self.labels_edit)
        col.addLayout(form)

        self.start_button = QtWidgets.QPushButton()
        col.addWidget(self.start_button)
        row = QtWidgets.QHBoxLayout()
        self.train_button = QtWidgets.QPushButton("Train now")
        self.train_button.setToolTip("train on the labelled trials so far")
        self.use_button = QtWidgets.QPushButton("✓ Use this model")
        self.use_button.setToolTip("predict with the calibrated model from the next window on "
                                   "(acquisition and recording go on)")
        row.addWidget(self.train_button)
        row.addWidget(self.use_button)
        col.addLayout(row)

        row = QtWidgets.QHBoxLayout()
        self.phase_badge = QtWidgets.QLabel()
        self.phase_badge.setAlignment(QtCore.Qt.AlignCenter)
        self.phase_badge.setFixedWidth(self.fontMetrics().horizontalAdvance("collecting") + 22)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setTextVisible(True)
        row.addWidget(self.phase_badge)
        row.addWidget(self.progress, 1)
        col.addLayout(row)

        self.status_label = self._wrapping_label()
        self.result_label = self._wrapping_label()
        self.result_label.setStyleSheet("font-weight:600")
        col.addWidget(self.status_label)
        col.addWidget(self.result_label)
        col.addStretch(1)

        self.start_button.clicked.connect(self._on_start_clicked)
        self.train_button.clicked.connect(self._on_train)
        self.use_button.clicked.connect(self._on_use)
        self._show_phase(None)
        self._set_progress(0, 1, 0, "")

    @staticmethod
    def _wrapping_label() -> QtWidgets.QLabel:
        label = QtWidgets.QLabel("")
        label.setWordWrap(True)
        label.setAlignment(QtCore.Qt.AlignLeft | QtCore.Qt.AlignTop)
        # the width comes from the panel, the height from the text: never cut
        label.setSizePolicy(QtWidgets.QSizePolicy.Ignored, QtWidgets.QSizePolicy.Minimum)
        return label

    def _skip_one(self, value: int) -> None:
        """1 trial cannot be split into training and test: step over it."""
        if value == 1:
            value = 2 if self._trials_before < 1 else 0
            self.trials_box.setValue(value)
        self._trials_before = value

    # -- what the window calls ----------------------------------------------------------------
    @property
    def calibrator(self) -> CalibratorLike | None:
        """The calibrator at work (None when not calibrating)."""
        return self._calibrator

    @property
    def phase(self) -> str:
        """What the phase badge shows (a :class:`CalibrationPhase`, or "idle")."""
        return self.phase_badge.text()

    def options(self) -> dict[str, Any]:
        """The calibrator options the panel's fields give (see :data:`CalibratorFactory`).

        Raises:
            ValueError: the label map does not parse (the message quotes the bad entry).
        """
        trials = self.trials_box.value()
        options: dict[str, Any] = {**self._preset_extra,
                                   "trials_needed": trials if trials >= 2 else None,
                                   "start_from": self.start_from_box.currentData(),
                                   "then_run": self.then_run_box.isChecked(),
                                   "participant": self.participant_edit.text().strip() or None}
        stream = self.markers_box.currentData()
        labels = self.labels_edit.text().strip() or None
        if labels is not None:
            from models.eeg.label_map import parse_label_map

            parse_label_map(labels)
        current = (getattr(self._engine, "marker_stream", None),
                   getattr(self._engine, "marker_labels", None))
        if stream is not None or labels != current[1]:
            options["markers"] = (stream if stream is not None else current[0], labels)
        return options

    def preset(self, plan: dict[str, Any]) -> None:
        """Fill the fields from the command line's calibration plan
        (:func:`bci_app.cli.calibration_plan`) and start calibrating as soon as a session runs.

        Args:
            plan: ``trials_needed``, ``start_from`` (None, ``SCRATCH`` or a model file),
                ``then_run``, ``participant``, and optionally ``train_args``, ``folder`` and
                ``model_path`` (these three for the first calibration only).
        """
        self.trials_box.setValue(plan.get("trials_needed") or 0)
        start_from = plan.get("start_from")
        index = self.start_from_box.findData(start_from)
        if index < 0:  # a model file of its own
            self.start_from_box.addItem(Path(start_from).name, start_from)
            index = self.start_from_box.count() - 1
        self.start_from_box.setCurrentIndex(index)
        self.then_run_box.setChecked(bool(plan.get("then_run")))
        self.participant_edit.setText(plan.get("participant") or "")
        self._preset_extra = {k: plan[k] for k in ("train_args", "folder", "model_path")
                              if plan.get(k) is not None}
        self._autostart = True
        if self._engine is not None:
            QtCore.QTimer.singleShot(0, self._start_preset)

    def _start_preset(self) -> None:
        if self._autostart and self._engine is not None and self._calibrator is None:
            self._autostart = False
            self._on_start_clicked()

    def list_marker_streams(self) -> None:
        """List the marker streams on the network in a worker thread (~1 s) and offer them
        in the chooser."""
        if self._listing:
            return
        self._listing = True
        self.markers_refresh.setEnabled(False)
        bridge = self._bridge

        def work() -> None:
            names: list[str] = []
            try:
                from bci_app.lsl.protocol import MARKER_TYPE
                from bci_app.lsl.streams import list_streams

                names = sorted({s.name for s in list_streams(timeout=1.0)
                                if s.stype.lower() == MARKER_TYPE.lower() and not s.is_numeric})
            except Exception:
                traceback.print_exc()
            bridge.listed.emit(names)

        self._spawn(work, "calibration-list-markers")

    def _on_listed(self, names: list[str]) -> None:
        self._listing = False
        chosen = self.markers_box.currentData()
        current = getattr(self._engine, "marker_stream", None)
        self.markers_box.clear()
        self.markers_box.addItem(f"{SESSION_MARKERS} ({current or 'none'})", None)
        for name in names:
            if name != current:
                self.markers_box.addItem(name, name)
        index = self.markers_box.findData(chosen) if chosen is not None else 0
        self.markers_box.setCurrentIndex(max(index, 0))
        self._update_controls()

    def set_engine(self, engine: Any) -> None:
        """The engine now running (None: none). A calibrator of another engine is stopped."""
        if engine is self._engine:
            return
        calibrator = self.detach("the session changed") if self._calibrator else None
        if calibrator is not None:
            self._stop_in_thread(calibrator, by_panel=False)
        self._engine = engine
        current = getattr(engine, "marker_stream", None)
        self.markers_box.setItemText(0, f"{SESSION_MARKERS} ({current or 'none'})")
        self.labels_edit.setText(getattr(engine, "marker_labels", None) or "")
        self._update_controls()
        if engine is not None and self._autostart:  # the command line asked to calibrate
            QtCore.QTimer.singleShot(0, self._start_preset)

    def detach(self, reason: str) -> CalibratorLike | None:
        """Let go of the calibrator and return it for the caller to stop (in a worker thread,
        before the engine); one still being built is stopped when it arrives."""
        self._generation += 1  # a calibrator being built is stopped on arrival
        calibrator, self._calibrator = self._calibrator, None
        if self._starting:
            self._starting = False
            self._show_message(f"calibration not started: {reason}")
        if calibrator is not None:
            self._show_stopped(f"calibration stopped: {reason}")
        self._update_controls()
        return calibrator

    def refresh(self) -> None:
        """Read the calibrator's snapshot once and show what changed (the timer's slot)."""
        calibrator = self._calibrator
        if calibrator is None:
            return
        try:
            status = calibrator.status()
        except Exception as exc:  # a calibrator bug must not kill the GUI
            traceback.print_exc()
            self._show_message(f"calibration status failed: {type(exc).__name__}: {exc}",
                               error=True)
            return
        if status == self._last:
            return
        if self._last is None or status.phase != self._last.phase:
            self._use_sent = False
        self._last = status
        self._show(status)

    # -- buttons ------------------------------------------------------------------------------
    def _on_start_clicked(self) -> None:
        if self._calibrator is not None:
            self._stop_by_user()
            return
        reason = calibration_unsupported(self._engine)
        if reason or self._starting or self._stopping:
            return
        try:
            options = self.options()
        except ValueError as exc:
            self._show_message(f"label map: {exc}", error=True)
            return
        for once in ("folder", "model_path"):  # the command line's paths: the first one only
            self._preset_extra.pop(once, None)
        self._generation += 1
        gen, engine, factory = self._generation, self._engine, self._factory
        bridge = self._bridge
        self._starting = True
        self._last = None
        self._use_sent = False
        self._show_result(None)
        self._show_phase(None)
        self._set_progress(0, 1, 0, "")
        self._show_message("starting calibration…")
        self._update_controls()

        def work() -> None:
            try:
                calibrator = factory(engine, options)
                calibrator.start()
            except Exception as exc:
                traceback.print_exc()
                bridge.failed.emit(f"could not start calibration: {type(exc).__name__}: {exc}",
                                   gen)
                return
            bridge.created.emit(calibrator, gen)

        self._spawn(work, "calibration-start")

    def _on_created(self, calibrator: CalibratorLike, gen: int) -> None:
        if gen != self._generation:  # the session stopped or changed meanwhile
            self._stop_in_thread(calibrator, by_panel=False)
            return
        self._starting = False
        self._calibrator = calibrator
        self._update_controls()
        self.refresh()

    def _on_failed(self, message: str, gen: int) -> None:
        if gen != self._generation:
            return
        self._starting = False
        self._show_phase(CalibrationPhase.FAILED)
        self._show_message(message, error=True)
        self._update_controls()

    def _stop_by_user(self) -> None:
        calibrator = self.detach("stopped from the panel")
        if calibrator is None:
            return
        self._stopping += 1
        self._show_message("stopping calibration… (a running training is cancelled)")
        self._update_controls()
        self._stop_in_thread(calibrator, by_panel=True)

    def _stop_in_thread(self, calibrator: CalibratorLike, *, by_panel: bool) -> None:
        bridge = self._bridge

        def work() -> None:
            try:
                calibrator.stop()
            except Exception:  # it is being let go anyway
                traceback.print_exc()
            bridge.stopped.emit(by_panel)

        self._spawn(work, "calibration-stop")

    def _on_stopped(self, by_panel: bool) -> None:
        if not by_panel:
            return
        self._stopping = max(0, self._stopping - 1)
        if not self._stopping and self.status_label.toolTip().startswith("stopping"):
            self._show_message("calibration stopped from the panel")
        self._update_controls()

    def _on_train(self) -> None:
        if self._calibrator is not None:
            self._calibrator.train_now()

    def _on_use(self) -> None:
        if self._calibrator is not None:
            self._calibrator.use_model()
            self._use_sent = True
            self.use_button.setEnabled(False)

    # -- display ------------------------------------------------------------------------------
    def _update_controls(self) -> None:
        """Enable what the engine, the calibrator and its phase allow."""
        calibrating = self._calibrator is not None
        busy = self._starting or bool(self._stopping)
        reason = calibration_unsupported(self._engine)
        unsupported = bool(reason) and self._engine is not None and not calibrating
        self.setEnabled(not unsupported)
        self.setToolTip(reason if unsupported else "")
        label = self.status_label.toolTip()
        if reason and not calibrating and not busy and (not label or label == self._reason_shown):
            self._show_message(reason)  # say why Start is disabled (nothing else to say)
            self._reason_shown = reason
        elif not reason and label and label == self._reason_shown:
            self._show_message("")
            self._reason_shown = ""
        phase = self._last.phase if calibrating and self._last is not None else None
        self.start_button.setText("■ Stop calibration" if calibrating
                                  else "▶ Start calibration")
        self.start_button.setEnabled(calibrating or (not reason and not busy))
        self.start_button.setToolTip(
            "stop calibrating (a running training is cancelled; a trained model file stays)"
            if calibrating else reason or "collect this participant's labelled trials from "
            "now on, then train")
        for box in (self.trials_box, self.start_from_box, self.then_run_box,
                    self.participant_edit, self.markers_box, self.labels_edit):
            box.setEnabled(not calibrating and not busy)
        self.markers_refresh.setEnabled(not calibrating and not busy and not self._listing)
        self.train_button.setEnabled(calibrating and phase in (CalibrationPhase.COLLECTING,
                                                               CalibrationPhase.FAILED))
        self.use_button.setEnabled(calibrating and phase == CalibrationPhase.TRAINED
                                   and not self._use_sent)

    def _show(self, status: CalibrationStatus) -> None:
        phase = status.phase
        self._show_phase(phase)
        if phase == CalibrationPhase.COLLECTING:
            if status.needed:
                self._set_progress(0, status.needed, min(status.trials, status.needed),
                                   f"{status.trials}/{status.needed} trials")
            else:
                self._set_progress(0, 1, 0, f"{status.trials} trials")
        elif phase == CalibrationPhase.TRAINING:
            if status.progress is None:
                self._set_progress(0, 0, 0, "")  # a busy indicator
            else:
                fraction = min(max(float(status.progress), 0.0), 1.0)
                self._set_progress(0, 1000, round(1000 * fraction), f"{100 * fraction:.0f} %")
        elif phase in (CalibrationPhase.TRAINED, CalibrationPhase.SWAPPED):
            self._set_progress(0, 1, 1, "done")
        else:  # failed, stopped: the badge says it
            self._set_progress(0, 1, 0, "")
        message = status.message
        if status.result is not None:  # the result line below says it: not twice
            described = status.result.describe()
            message = message.replace(f" ({described})", "").replace(f"; {described}", "")
        self._show_message(message, error=status.phase == CalibrationPhase.FAILED)
        self._show_result(status)
        self._update_controls()

    def _show_result(self, status: CalibrationStatus | None) -> None:
        if status is None or status.result is None:
            self.result_label.setText("")
            self.result_label.setToolTip("")
            return
        result = status.result
        path = status.model_path or result.model_path
        text = f"{result.describe()}\nmodel file: {path}"
        self.result_label.setText(breakable(text))
        self.result_label.setToolTip(text)

    def _show_phase(self, phase: str | None) -> None:
        text = str(phase) if phase else _IDLE
        color = PHASE_COLORS.get(phase, "#3a3f47") if phase else "#3a3f47"
        self.phase_badge.setText(text)
        self.phase_badge.setStyleSheet(f"background:{color}; color:white; font-weight:600;"
                                       " border-radius:3px; padding:2px 6px;")

    def _set_progress(self, minimum: int, maximum: int, value: int, text: str) -> None:
        """Range, value and text of the progress bar (``maximum == 0``: busy indicator)."""
        p = self.progress
        p.setRange(minimum, maximum)
        p.setValue(value)
        p.setFormat(text)  # only %p, %v and %m are placeholders: "50 %" stays as it is

    def _show_stopped(self, message: str) -> None:
        self._show_phase(CalibrationPhase.STOPPED)
        self._set_progress(0, 1, 0, "")
        self._show_message(message)

    def _show_message(self, text: str, error: bool = False) -> None:
        self.status_label.setText(breakable(text))
        self.status_label.setToolTip(text)
        self.status_label.setStyleSheet("color:#ff8a80" if error else "")
