"""Qt widgets of the live window: top bar, settings dialog and status bar.

They only show values and emit signals; the main window owns the engine and the threads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from bci_app.engine.config import FILTER_OPTIONS, FROM_MODEL
from bci_app.engine.state import EngineState, EngineStatus
from models.preprocessing import FilterSpec

__all__ = ["STATE_COLORS", "ModelInfo", "SettingsDialog", "StatusPanel", "TopBar"]

STARTING, STOPPING = "starting", "stopping"
"""What the badge shows while the window builds or stops an engine (not engine states)."""

STATE_COLORS: dict[str, str] = {
    EngineState.IDLE: "#5a626d",
    STARTING: "#3d6fb6",
    EngineState.CONNECTING: "#3d6fb6",
    EngineState.WARMING_UP: "#b8860b",
    EngineState.RUNNING: "#2e8b57",
    EngineState.BAD_SIGNAL: "#a04000",
    EngineState.STALLED: "#b9770e",
    EngineState.LOST: "#c0392b",
    EngineState.RECONNECTING: "#d35400",
    STOPPING: "#5a626d",
    EngineState.STOPPED: "#5a626d",
    EngineState.ERROR: "#c0392b",
}
"""Background colour of the state badge per engine state (and while starting or stopping)."""


@dataclass(frozen=True)
class ModelInfo:
    """What the window knows about a model file before an engine runs it (its metadata only).

    Attributes:
        path: the file.
        synthetic: trained on synthetic data; None: unknown (file unreadable).
        summary: one line, e.g. "62 ch · 200 Hz · 1 s windows · 3 classes".
        error: why the file could not be read ("" when it could).
        class_names, channel_names: the model's classes and channels (empty when unknown).
        filters: the filter chain the file declares (None: none, or unknown).
        sfreq: the model's rate, Hz (None: unknown).
    """

    path: Path
    synthetic: bool | None
    summary: str
    error: str = ""
    class_names: tuple[str, ...] = ()
    channel_names: tuple[str, ...] = ()
    filters: FilterSpec | None = None
    sfreq: float | None = None


def describe_stream(desc: Any) -> str:
    """One-line description of a ``StreamDescription`` (name, type, channels, rate, host)."""
    rate = f"{desc.sfreq:g} Hz" if desc.sfreq else "irregular"
    return f"{desc.name}  [{desc.stype}, {desc.n_channels} ch @ {rate}, {desc.host}]"


class TopBar(QtWidgets.QWidget):
    """Stream picker, model picker, start/stop, record and settings.

    Signals:
        refresh_requested: the user asked to rediscover LSL streams.
        stream_changed(object): the chosen ``StreamDescription``, or None for "any EEG stream".
        model_changed(object): the chosen model ``Path``.
        start_requested, stop_requested, settings_requested.
        record_changed(bool, object): recording on/off and the session-log ``Path``.
    """

    refresh_requested = QtCore.Signal()
    stream_changed = QtCore.Signal(object)
    model_changed = QtCore.Signal(object)
    start_requested = QtCore.Signal()
    stop_requested = QtCore.Signal()
    settings_requested = QtCore.Signal()
    record_changed = QtCore.Signal(bool, object)

    def __init__(self, model: Path, log: Path | None,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(6, 4, 6, 4)
        row.setSpacing(6)

        row.addWidget(QtWidgets.QLabel("Stream"))
        # the pickers shrink with the window (their texts are elided) rather than setting a
        # minimum window width: the window fits a 1366-px laptop screen
        self.stream_box = QtWidgets.QComboBox()
        self.stream_box.setMinimumContentsLength(18)
        self.stream_box.setSizeAdjustPolicy(QtWidgets.QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.stream_box.addItem("any EEG stream", None)
        self.stream_box.setToolTip("LSL streams found on the network (name, type, channels, "
                                   "rate, host)")
        row.addWidget(self.stream_box, 3)
        self.refresh_button = QtWidgets.QPushButton("⟳ Refresh")
        self.refresh_button.setToolTip("look for LSL streams again")
        row.addWidget(self.refresh_button)

        row.addSpacing(10)
        row.addWidget(QtWidgets.QLabel("Model"))
        self.model_box = QtWidgets.QComboBox()
        self.model_box.setMinimumContentsLength(14)
        self.model_box.setSizeAdjustPolicy(QtWidgets.QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.model_box.addItem(model.name, model)
        self.model_box.setItemData(0, str(model), QtCore.Qt.ToolTipRole)
        self.model_box.addItem("Browse…", "browse")
        row.addWidget(self.model_box, 2)
        self.model_badge = QtWidgets.QLabel("…")
        self.model_badge.setObjectName("modelBadge")
        row.addWidget(self.model_badge)

        row.addSpacing(10)
        self.start_button = QtWidgets.QPushButton("▶ Start")
        self.stop_button = QtWidgets.QPushButton("■ Stop")
        self.stop_button.setEnabled(False)
        row.addWidget(self.start_button)
        row.addWidget(self.stop_button)

        row.addSpacing(10)
        self.record_button = QtWidgets.QPushButton("● Record")
        self.record_button.setCheckable(True)
        self.record_button.setChecked(log is not None)
        self.record_button.setStyleSheet(
            "QPushButton:checked { background:#a93226; color:white; font-weight:600 }")
        self._show_recording(log is not None)
        row.addWidget(self.record_button)
        self.log_edit = QtWidgets.QLineEdit(str(log or default_log_path()))
        self.log_edit.setMinimumWidth(120)
        self.log_edit.setToolTip("session log path")
        row.addWidget(self.log_edit, 2)
        self.browse_log = QtWidgets.QToolButton()
        self.browse_log.setText("…")
        row.addWidget(self.browse_log)

        row.addSpacing(10)
        self.settings_button = QtWidgets.QPushButton("⚙ Settings")
        row.addWidget(self.settings_button)

        self.refresh_button.clicked.connect(self.refresh_requested)
        self.start_button.clicked.connect(self.start_requested)
        self.stop_button.clicked.connect(self.stop_requested)
        self.settings_button.clicked.connect(self.settings_requested)
        self.stream_box.activated.connect(self._on_stream)
        self.model_box.activated.connect(self._on_model)
        self.record_button.toggled.connect(self._on_record)
        self.browse_log.clicked.connect(self._browse_log)
        self.log_edit.editingFinished.connect(self._on_log_edited)

    # -- streams ------------------------------------------------------------------------------
    def set_streams(self, streams: list[Any], selected: str | None = None) -> None:
        """Fill the stream picker; keep ``selected`` (a stream name) chosen if present."""
        self.stream_box.blockSignals(True)
        current = selected
        if current is None and self.stream_box.currentData() is not None:
            current = self.stream_box.currentData().name
        self.stream_box.clear()
        self.stream_box.addItem("any EEG stream", None)
        for desc in streams:
            self.stream_box.addItem(describe_stream(desc), desc)
            if desc.name == current:
                self.stream_box.setCurrentIndex(self.stream_box.count() - 1)
        if current and self.stream_box.currentData() is None:
            self.stream_box.addItem(f"{current}  [not found]", None)
            self.stream_box.setCurrentIndex(self.stream_box.count() - 1)
        self.stream_box.blockSignals(False)

    def _on_stream(self, index: int) -> None:
        self.stream_changed.emit(self.stream_box.itemData(index))

    # -- model --------------------------------------------------------------------------------
    def _on_model(self, index: int) -> None:
        data = self.model_box.itemData(index)
        if data == "browse":
            path, _ = QtWidgets.QFileDialog.getOpenFileName(
                self, "SI-CLEER model file", "", "Model files (*.safetensors);;All files (*)")
            if not path:
                self.model_box.setCurrentIndex(0)
                return
            self.model_box.insertItem(0, Path(path).name, Path(path))
            self.model_box.setItemData(0, path, QtCore.Qt.ToolTipRole)
            self.model_box.setCurrentIndex(0)
            data = Path(path)
        self.model_changed.emit(data)

    def set_model_info(self, info: ModelInfo) -> None:
        """Show the model's origin (synthetic demo or trained) next to the picker."""
        if info.error:
            text, color = "unreadable", "#c0392b"
        elif info.synthetic:
            text, color = "synthetic", "#b8860b"
        elif info.synthetic is None:
            text, color = "unknown", "#5a626d"
        else:
            text, color = "trained", "#2e8b57"
        self.model_badge.setText(text)
        self.model_badge.setStyleSheet(f"background:{color}; color:white; border-radius:3px;"
                                       " padding:1px 6px;")
        self.model_badge.setToolTip(f"{info.path}\n{info.error or info.summary}")

    # -- record -------------------------------------------------------------------------------
    def log_path(self) -> Path:
        """The session-log path typed in the bar."""
        return Path(self.log_edit.text().strip() or default_log_path())

    def _on_record(self, on: bool) -> None:
        self._show_recording(on)
        self.record_changed.emit(on, self.log_path())

    def _show_recording(self, on: bool) -> None:
        """The button says whether the session records, and what pressing it does."""
        self.record_button.setText("● Recording" if on else "● Record")
        self.record_button.setToolTip(
            "recording: the CSV log at this path and, with LabRecorder, the XDF file beside "
            "it; press to stop" if on else
            "record the session from now on: the CSV log at this path and, with LabRecorder, "
            "an XDF file beside it (raw EEG, markers, predictions, events); the running "
            "session goes on")

    def _on_log_edited(self) -> None:
        if self.record_button.isChecked():
            self.record_changed.emit(True, self.log_path())

    def _browse_log(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Session log", str(self.log_path()), "CSV (*.csv);;All files (*)")
        if path:
            self.log_edit.setText(path)
            self._on_log_edited()

    def set_running(self, running: bool, busy: bool = False) -> None:
        """Enable start/stop for the current engine state."""
        self.start_button.setEnabled(not running and not busy)
        self.stop_button.setEnabled(running and not busy)


def default_log_path() -> Path:
    """``sessions/session-YYYYmmdd-HHMMSS.csv`` in the working directory."""
    stamp = QtCore.QDateTime.currentDateTime().toString("yyyyMMdd-HHmmss")
    return Path("sessions") / f"session-{stamp}.csv"


class SettingsDialog(QtWidgets.QDialog):
    """Non-modal dialog for hop, smoothing and the causal filter chain.

    The filter widgets show the chain the session runs (the model file's, with the options
    given; :meth:`load`). Applying sends only the filter settings the user changed, so the
    others keep following the model file; "Model's filters" sends them all back to it.

    Signals:
        applied(dict): the new values as ``EngineConfig`` field -> value: ``hop``,
            ``smoothing``, and the changed ones of ``notch``, ``l_freq``, ``h_freq`` (None =
            off) and ``filter_order``, or all four as ``FROM_MODEL``.
    """

    applied = QtCore.Signal(dict)

    def __init__(self, config: Any, filters: FilterSpec | None = None,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setModal(False)
        form = QtWidgets.QFormLayout(self)

        def spin(lo: float, hi: float, step: float, decimals: int,
                 suffix: str) -> QtWidgets.QDoubleSpinBox:
            box = QtWidgets.QDoubleSpinBox()
            box.setRange(lo, hi)
            box.setSingleStep(step)
            box.setDecimals(decimals)
            box.setSuffix(suffix)
            return box

        self.hop = spin(0.05, 10.0, 0.05, 2, " s")
        self.hop.setToolTip("time between two predictions")
        self.smoothing = spin(0.0, 60.0, 0.5, 1, " s")
        self.smoothing.setToolTip("time constant of the exponential smoothing of probabilities")
        self.notch_on = QtWidgets.QCheckBox("notch")
        self.notch = QtWidgets.QComboBox()
        self.notch.addItems(["50 Hz", "60 Hz"])
        notch_row = QtWidgets.QHBoxLayout()
        notch_row.addWidget(self.notch_on)
        notch_row.addWidget(self.notch)
        self.l_freq = spin(0.0, 30.0, 0.1, 2, " Hz")
        self.h_freq = spin(0.0, 200.0, 1.0, 1, " Hz")
        for box in (self.l_freq, self.h_freq):
            box.setSpecialValueText("off")  # the minimum, 0, leaves that edge open
        self.order = QtWidgets.QSpinBox()
        self.order.setRange(1, 10)
        self.order.setToolTip("Butterworth order per band-pass edge")
        form.addRow("Hop", self.hop)
        form.addRow("Smoothing", self.smoothing)
        form.addRow("Mains", notch_row)
        form.addRow("High-pass", self.l_freq)
        form.addRow("Low-pass", self.h_freq)
        form.addRow("Filter order", self.order)
        self.chain = QtWidgets.QLabel("")
        self.chain.setWordWrap(True)
        self.chain.setStyleSheet("color:#8b949e")
        form.addRow(self.chain)
        note = QtWidgets.QLabel("Applying restarts a running session.")
        note.setStyleSheet("color:#8b949e")
        form.addRow(note)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.Apply
                                             | QtWidgets.QDialogButtonBox.Close)
        self.model_filters = buttons.addButton("Model's filters",
                                               QtWidgets.QDialogButtonBox.ResetRole)
        self.model_filters.setToolTip("filter as the model file says (drop every override)")
        buttons.button(QtWidgets.QDialogButtonBox.Apply).clicked.connect(self._apply)
        self.model_filters.clicked.connect(self._use_model_filters)
        buttons.rejected.connect(self.hide)
        form.addRow(buttons)
        self._loaded: dict[str, Any] = {}
        self.load(config, filters if filters is not None else FilterSpec())

    def load(self, config: Any, filters: FilterSpec, note: str = "") -> None:
        """Show ``config``'s hop and smoothing and the chain ``filters`` the session runs
        (``note``: where that chain comes from)."""
        self.hop.setValue(float(config.hop))
        self.smoothing.setValue(float(config.smoothing))
        self.notch_on.setChecked(filters.notch is not None)
        self.notch.setCurrentIndex(1 if filters.notch and abs(filters.notch - 60) < 1 else 0)
        self.l_freq.setValue(filters.l_freq or 0.0)
        self.h_freq.setValue(filters.h_freq or 0.0)
        self.order.setValue(int(filters.order))
        self.chain.setText(note)
        self.chain.setVisible(bool(note))
        self._loaded = self._filter_values()

    def _filter_values(self) -> dict[str, Any]:
        notch = (60.0 if self.notch.currentIndex() == 1 else 50.0) if self.notch_on.isChecked() \
            else None
        return {"notch": notch, "l_freq": self.l_freq.value() or None,
                "h_freq": self.h_freq.value() or None, "filter_order": self.order.value()}

    def values(self) -> dict[str, Any]:
        """Hop and smoothing, and the filter settings changed since :meth:`load`, as
        ``EngineConfig`` fields."""
        changed = {k: v for k, v in self._filter_values().items() if v != self._loaded.get(k)}
        return {"hop": self.hop.value(), "smoothing": self.smoothing.value(), **changed}

    def _apply(self) -> None:
        values = self._filter_values()
        lo, hi = values["l_freq"], values["h_freq"]
        if lo is not None and hi is not None and lo >= hi:
            self.h_freq.setStyleSheet("background:#5c1f1f")
            return
        self.h_freq.setStyleSheet("")
        self.applied.emit(self.values())

    def _use_model_filters(self) -> None:
        self.h_freq.setStyleSheet("")
        self.applied.emit({"hop": self.hop.value(), "smoothing": self.smoothing.value(),
                           **dict.fromkeys(FILTER_OPTIONS, FROM_MODEL)})


def _fmt(value: Any, spec: str, unit: str = "") -> str:
    """Format a number, '–' for None or NaN."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:{spec}}{unit}"


class ElidedLabel(QtWidgets.QLabel):
    """A one-line label that ends in "…" when its text does not fit (never cut mid-letter,
    never wider than the room it gets); :meth:`text` and the tooltip keep the whole text."""

    def __init__(self, text: str = "", parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setText(text)

    def setText(self, text: str) -> None:
        """Show ``text`` (elided to the width)."""
        self._full = text
        self._elide()

    def text(self) -> str:
        """The whole text, as given."""
        return self._full

    def shown_text(self) -> str:
        """What is drawn now (possibly ending in "…")."""
        return super().text()

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        """Elide again for the new width."""
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(self.contentsRect().width(), 0)
        shown = self.fontMetrics().elidedText(self._full, QtCore.Qt.ElideRight, width) \
            if width else self._full
        super().setText(shown)


class StatusPanel(QtWidgets.QStatusBar):
    """Stream, channels, state, latency, inference time, device, losses, messages, the model
    predicting and, while the session records, a red REC badge with what is recorded."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizeGripEnabled(False)
        self.state = QtWidgets.QLabel(EngineState.IDLE)
        self.state.setAlignment(QtCore.Qt.AlignCenter)
        self.state.setFixedWidth(118)  # "reconnecting" fits; the layout never moves
        self.stream = QtWidgets.QLabel("no stream")
        self.channels = QtWidgets.QLabel("channels –")
        self.latency = QtWidgets.QLabel("latency –")
        self.inference = QtWidgets.QLabel("inference –")
        self.device = QtWidgets.QLabel("device –")
        self.losses = QtWidgets.QLabel("nothing lost")
        self.message = ElidedLabel("")
        self.message.setObjectName("statusMessage")
        self.message.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        # a long message must not widen the window: that resizes (and repaints) every plot,
        # 100-200 ms of GUI thread; it ends in "…" at the window's edge, the tooltip has it
        self.message.setSizePolicy(QtWidgets.QSizePolicy.Ignored,
                                   QtWidgets.QSizePolicy.Preferred)
        self.addWidget(self.state)
        for label in (self.stream, self.channels, self.latency, self.inference, self.device,
                      self.losses):
            label.setFrameShape(QtWidgets.QFrame.NoFrame)
            self.addWidget(label)
            self.addWidget(_separator())
        self.addWidget(self.message, 1)
        self.session = QtWidgets.QLabel("")
        # bounded: a long class name must not widen the window (the text is in the tooltip)
        self.session.setMaximumWidth(self.fontMetrics().horizontalAdvance(
            "session 0:00:00 · trial 99: negative") + 8)
        self.model = QtWidgets.QLabel("model –")
        self.model.setToolTip("the model predicting now (the first 12 hex digits of its "
                              "file's digest; the session log's model column)")
        self.rec_badge = QtWidgets.QLabel("REC")
        self.rec_badge.setStyleSheet("background:#c0392b; color:white; font-weight:700;"
                                     " border-radius:3px; padding:1px 6px;")
        self.recording = QtWidgets.QLabel("")
        for label in (self.session, self.model, self.recording):
            label.setMinimumWidth(1)  # may be clipped: never widens the window (tooltips)
        self.addPermanentWidget(self.session)
        self.addPermanentWidget(self.model)
        self.addPermanentWidget(self.rec_badge)
        self.addPermanentWidget(self.recording)
        self.set_recording("")
        # a fixed height: a message in bold or with a taller glyph (⚠) must not grow the bar,
        # which would shrink and repaint every plot above it
        self.setFixedHeight(self.fontMetrics().height() + 12)
        self._last: tuple[Any, ...] = ()
        self.set_state(EngineState.IDLE)

    def set_state(self, state: str, detail: str = "") -> None:
        """Show the engine state in a coloured badge (detail goes to the tooltip)."""
        color = STATE_COLORS.get(state, "#5a626d")
        self.state.setText(state)
        self.state.setToolTip(detail or state)
        self.state.setStyleSheet(f"background:{color}; color:white; font-weight:600;"
                                 " border-radius:3px; padding:2px 8px;")

    def show_error(self, text: str) -> None:
        """Persistent, non-modal error message (cleared by :meth:`clear_error`)."""
        self.message.setText(f"⚠ {_one_line(text)}")
        self.message.setToolTip(text)
        self.message.setStyleSheet("color:#ff8a80; font-weight:600")

    def show_info(self, text: str) -> None:
        """Neutral message."""
        self.message.setText(_one_line(text))
        self.message.setToolTip(text)
        self.message.setStyleSheet("color:#c9d1d9")

    def set_model(self, model_id: str) -> None:
        """Show which model predicts (its id; "" when unknown)."""
        text = f"model {model_id}" if model_id else "model –"
        if text != self.model.text():
            self.model.setText(text)

    def set_session(self, clock: str, trial: str) -> None:
        """Show the session clock and the current trial (``""``: hidden)."""
        text = " · ".join(x for x in (f"session {clock}" if clock else "", trial) if x)
        if text != self.session.text():
            self.session.setText(text)
            self.session.setToolTip(f"session clock {clock} (since the session started)"
                                    + (f"; {trial} on the marker stream" if trial else "")
                                    if clock else "")

    def set_recording(self, text: str) -> None:
        """Show the REC badge and ``text`` ("recording s.xdf (1.2 MB, 00:42)"); "" hides
        them (not recording)."""
        if text == self.recording.text() and self.rec_badge.isHidden() == (not text):
            return
        self.recording.setText(text)
        self.recording.setToolTip(text)
        self.rec_badge.setVisible(bool(text))
        self.recording.setVisible(bool(text))

    def clear_error(self) -> None:
        """Remove the message."""
        self.message.setText("")
        self.message.setToolTip("")

    def update_status(self, s: EngineStatus) -> None:
        """Show an engine status snapshot (only relabels what changed)."""
        self.set_model(s.model)
        self.set_recording(s.recording)
        self.set_session(s.clock, s.trial)
        link, st = s.link, s.stats
        key = (s.state, s.message, s.device, link, st.latency_p50, st.latency_p95,
               st.inference_ms, st.samples_lost, st.windows_skipped, st.nan_windows,
               st.reconnects, st.bad_signal_windows, st.untimed_windows, st.clock_jumps,
               s.warning, s.bad_channels)
        if key == self._last:
            return
        self._last = key
        self.set_state(s.state, s.message)
        name = link.stream_name or "–"
        self.stream.setText(f"{name} @ {link.host or '?'} · {_fmt(link.sfreq, 'g', ' Hz')}")
        bad = f" · {len(s.bad_channels)} bad" if s.bad_channels else ""
        self.channels.setText(f"{link.n_matched} matched · {link.n_interpolated} interpolated"
                              + bad)
        self.channels.setStyleSheet("color:#ffb74d" if s.bad_channels else "")
        self.channels.setToolTip(
            "interpolated (missing): " + (", ".join(link.interpolated) or "none")
            + "\nbad (interpolated while bad): "
            + (", ".join(f"{name} ({why})" for name, why in s.bad_channels) or "none"))
        self.latency.setText(f"latency p50 {_fmt(st.latency_p50, '.0f')} · "
                             f"p95 {_fmt(st.latency_p95, '.0f', ' ms')}")
        self.inference.setText(f"inference {_fmt(st.inference_ms, '.1f', ' ms')}")
        self.device.setText(s.device or "device –")
        extra = []
        if st.nan_windows:
            extra.append(f"{st.nan_windows} NaN")
        if st.bad_signal_windows:
            extra.append(f"{st.bad_signal_windows} bad signal")
        if st.reconnects:
            extra.append(f"{st.reconnects} reconnects")
        if st.clock_jumps:
            extra.append(f"{st.clock_jumps} clock jumps")
        if st.untimed_windows:
            extra.append(f"{st.untimed_windows} untimed")
        counts = [f"lost {st.samples_lost} samples" if st.samples_lost else "",
                  f"skipped {st.windows_skipped} windows" if st.windows_skipped else "", *extra]
        # "nothing lost" while all is well: the status bar keeps its width for the clock,
        # the trial and the recording
        self.losses.setText(" · ".join(c for c in counts if c) or "nothing lost")
        if s.state == EngineState.ERROR:
            self.show_error(s.message or "engine error")
        elif s.state in (EngineState.LOST, EngineState.RECONNECTING, EngineState.STALLED,
                         EngineState.BAD_SIGNAL):
            self.show_error(f"{link.stream_name or 'stream'}: {s.message or s.state}")
        elif s.warning:
            self.show_error(s.warning)
        elif s.state == EngineState.RUNNING and self.message.text().startswith("⚠"):
            self.clear_error()


def _one_line(text: str) -> str:
    """A message on one line (a taller status bar would shrink, and repaint, every plot)."""
    return " · ".join(part.strip() for part in text.splitlines() if part.strip())


def _separator() -> QtWidgets.QFrame:
    line = QtWidgets.QFrame()
    line.setFrameShape(QtWidgets.QFrame.VLine)
    line.setStyleSheet("color:#3a3f47")
    return line
