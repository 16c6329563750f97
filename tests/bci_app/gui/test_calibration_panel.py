"""The window's Calibrate panel (pytest-qt, offscreen), with a scripted calibrator standing in
for :class:`bci_app.calibration.controller.Calibrator` and the synthetic FakeEngine."""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("pytestqt")

from PySide6 import QtCore, QtGui, QtWidgets

from bci_app.calibration.controller import SCRATCH, CalibrationPhase, CalibrationStatus
from bci_app.calibration.job import TrainingResult
from bci_app.calibration.paths import calibration_paths
from bci_app.engine.state import EngineState, EngineStatus
from bci_app.gui.calibration_panel import (
    DEFAULT_TRIALS,
    breakable,
    calibration_unsupported,
    default_calibrator_factory,
)
from bci_app.gui.fake_engine import FakeEngine, default_config
from bci_app.gui.main_window import MainWindow
from tests.bci_app.gui.windows import OPEN_WINDOWS

pytestmark = pytest.mark.gui

ZWSP = "\u200b"
MODEL_ID = "0123456789ab"
RECORDING = "recording p07.xdf (1.2 MB, 00:42)"
COLLECTING = CalibrationStatus(
    CalibrationPhase.COLLECTING,
    "calibration: 3/9 labelled trials (negative 1, neutral 1, positive 1)", trials=3,
    per_class=(("negative", 1), ("neutral", 1), ("positive", 1)), needed=9)
RESULT = TrainingResult(
    Path("/data/lab/sessions/2026-12-02/participant_P07/p07-calibrated.safetensors"),
    {"folds": [{"test_trials": 4, "n_test": 120}]}, finetuned=0.78, pretrained=0.41,
    baseline=0.70, seconds=42.0)

class CalibratableEngine(FakeEngine):
    """A FakeEngine with what the Calibrator uses of the real engine, a model id and a
    recording; it notes when it is stopped."""

    def __init__(self, config: Any, events: list[str]) -> None:
        super().__init__(config)
        self.events = events
        self.sfreq = self._sfreq
        self.window = int(self._sfreq)
        self.device = "cpu"
        self.marker_tracker = None
        self.recording_path: Path | None = None
        self.recording = RECORDING

    def set_raw_sink(self, sink: Any) -> None:
        """Nothing to feed: the scripted calibrator keeps no data."""

    def swap_model(self, model: Any, source: str = "") -> None:
        """Not used by the scripted calibrator."""

    def push_event(self, text: str) -> None:
        """Not used by the scripted calibrator."""

    def status(self) -> EngineStatus:
        """The fake's status with a model id and, while it runs, the recording line."""
        status = super().status()
        running = status.state not in (EngineState.STOPPED, EngineState.ERROR)
        return dataclasses.replace(status, model=MODEL_ID,
                                   recording=self.recording if running else "",
                                   session_s=125.4 if running else None,
                                   trial="trial 3: negative" if running else "")

    def stop(self, timeout: float = 5.0) -> None:
        """Stop, noting it (the window must stop the calibrator first)."""
        self.events.append("engine.stop")
        super().stop(timeout)


class ScriptedCalibrator:
    """A CalibratorLike whose status the test sets; ``stop`` blocks like a cancelled
    training does."""

    def __init__(self, events: list[str], stop_seconds: float = 0.0) -> None:
        self.events = events
        self.stop_seconds = stop_seconds
        self.calls: list[str] = []
        self.now = COLLECTING

    def start(self) -> None:
        """Note the call."""
        self.calls.append("start")

    def train_now(self) -> None:
        """Note the call."""
        self.calls.append("train_now")

    def use_model(self) -> None:
        """Note the call."""
        self.calls.append("use_model")

    def stop(self, timeout: float = 15.0) -> None:
        """Note the call, then block for ``stop_seconds``."""
        self.calls.append("stop")
        self.events.append("calibrator.stop")
        time.sleep(self.stop_seconds)

    def status(self) -> CalibrationStatus:
        """What the test scripted."""
        return self.now


class Session:
    """A window on CalibratableEngines with a scripted calibrator factory."""

    def __init__(self, qtbot: Any, *, stop_seconds: float = 0.0, engine: type = CalibratableEngine,
                 autostart: bool = True, fail: str = "",
                 calibration: dict[str, Any] | None = None) -> None:
        self.events: list[str] = []
        self.options: list[dict[str, Any]] = []
        self.calibrators: list[ScriptedCalibrator] = []
        self.stop_seconds = stop_seconds
        self.fail = fail
        self.engines: list[FakeEngine] = []
        self.window = MainWindow(self._engine_factory(engine), default_config(),
                                 stream_lister=lambda: [], autostart=autostart,
                                 calibrator_factory=self._calibrator_factory,
                                 calibration=calibration)
        qtbot.addWidget(self.window)
        OPEN_WINDOWS.append(self.window)
        self.window.resize(1680, 1000)
        self.window.show()
        self.panel = self.window.calibration
        self.qtbot = qtbot

    def _engine_factory(self, engine: type) -> Any:
        def build(config: Any) -> FakeEngine:
            made = (engine(config, self.events) if issubclass(engine, CalibratableEngine)
                    else engine(config))
            self.engines.append(made)
            return made

        return build

    def _calibrator_factory(self, engine: Any, options: dict[str, Any]) -> ScriptedCalibrator:
        if self.fail:
            raise RuntimeError(self.fail)
        self.options.append(options)
        calibrator = ScriptedCalibrator(self.events, self.stop_seconds)
        self.calibrators.append(calibrator)
        return calibrator

    def wait_running(self) -> None:
        self.qtbot.waitUntil(lambda: self.window.state == EngineState.RUNNING, timeout=4000)

    def start_calibration(self) -> ScriptedCalibrator:
        self.qtbot.waitUntil(self.panel.start_button.isEnabled, timeout=4000)
        self.panel.start_button.click()
        self.qtbot.waitUntil(lambda: self.panel.calibrator is not None, timeout=3000)
        return self.calibrators[-1]

    def wait_phase(self, phase: str) -> None:
        self.qtbot.waitUntil(lambda: self.panel.phase == phase, timeout=3000)


def shown(label: QtWidgets.QLabel) -> str:
    """A label's text without the zero-width break opportunities."""
    return label.text().replace(ZWSP, "")


def assert_not_cut(label: QtWidgets.QLabel) -> None:
    """The label is tall and wide enough for its whole word-wrapped text."""
    rect = label.contentsRect()
    needed = label.fontMetrics().boundingRect(QtCore.QRect(0, 0, rect.width(), 100_000),
                                              QtCore.Qt.TextWordWrap, label.text())
    assert needed.width() <= rect.width(), (needed, rect, label.text())
    assert needed.height() <= rect.height(), (needed, rect, label.text())


def test_panel_follows_the_calibrator_through_its_phases(qtbot: Any, tmp_path: Path) -> None:
    from bci_app.gui.app import apply_theme

    apply_theme(QtWidgets.QApplication.instance())  # as bci-app does, before the window
    s = Session(qtbot)
    panel = s.panel
    s.wait_running()
    assert panel.phase == "idle" and panel.isEnabled()
    assert panel.trials_box.value() == DEFAULT_TRIALS
    assert not panel.train_button.isEnabled() and not panel.use_button.isEnabled()
    panel.participant_edit.setText(" P07 ")
    panel.start_from_box.setCurrentIndex(panel.start_from_box.findData(SCRATCH))
    cal = s.start_calibration()
    assert s.options == [{"trials_needed": 9, "start_from": SCRATCH, "then_run": False,
                          "participant": "P07"}]
    assert cal.calls == ["start"]

    # collecting 3/9
    s.wait_phase("collecting")
    assert panel.progress.maximum() == 9 and panel.progress.value() == 3
    assert panel.progress.text() == "3/9 trials"
    assert shown(panel.status_label) == COLLECTING.message
    assert panel.train_button.isEnabled() and not panel.use_button.isEnabled()
    assert panel.start_button.text().endswith("Stop calibration")
    assert not panel.trials_box.isEnabled() and not panel.participant_edit.isEnabled()
    panel.train_button.click()
    assert cal.calls[-1] == "train_now"

    # training, half way; then a phase without a fraction: a busy indicator
    cal.now = CalibrationStatus(CalibrationPhase.TRAINING, "calibration: training (fit, 12 s)",
                                3, COLLECTING.per_class, 9, 0.5)
    s.wait_phase("training")
    assert (panel.progress.minimum(), panel.progress.maximum()) == (0, 1000)
    assert panel.progress.value() == 500 and panel.progress.text() == "50 %"
    assert shown(panel.status_label) == "calibration: training (fit, 12 s)"
    assert not panel.train_button.isEnabled() and not panel.use_button.isEnabled()
    cal.now = dataclasses.replace(cal.now, progress=None, message="calibration: training "
                                  "(export, 30 s)")
    qtbot.waitUntil(lambda: panel.progress.maximum() == 0, timeout=3000)
    assert panel.progress.minimum() == 0

    # trained with a result: "Use this model" becomes available
    message = (f"calibration: trained in 42 s; {RESULT.describe()}; model "
               f"{RESULT.model_path}")
    cal.now = CalibrationStatus(CalibrationPhase.TRAINED, message, 3, COLLECTING.per_class, 9,
                                None, RESULT, RESULT.model_path)
    s.wait_phase("trained")
    assert panel.use_button.isEnabled() and not panel.train_button.isEnabled()
    assert panel.progress.text() == "done" and panel.progress.value() == 1
    # the comparison is on the result line, not twice
    assert shown(panel.status_label) == f"calibration: trained in 42 s; model {RESULT.model_path}"
    result = shown(panel.result_label)
    assert "starting model as it was 41 %" in result and "fine-tuned 78 %" in result
    assert "CSP + LDA 70 %" in result and str(RESULT.model_path) in result
    qtbot.wait(50)
    for label in (panel.status_label, panel.result_label):
        assert_not_cut(label)
    assert panel.width() <= s.window.width() // 4  # the plots keep their room

    shot = tmp_path / "calibration_panel.png"
    assert s.window.grab().save(str(shot))
    image = QtGui.QImage(str(shot))
    assert image.width() >= 1600 and image.height() >= 900
    shutil.copyfile(shot, "/tmp/calibration_panel.png")

    panel.use_button.click()
    assert cal.calls[-1] == "use_model"
    assert not panel.use_button.isEnabled()  # no second swap request
    cal.now = dataclasses.replace(cal.now, phase=CalibrationPhase.SWAPPED,
                                  message="calibration: predicting with "
                                  "p07-calibrated.safetensors from now on")
    s.wait_phase("in use")
    assert not panel.use_button.isEnabled() and not panel.train_button.isEnabled()
    assert panel.progress.text() == "done"
    assert "fine-tuned 78 %" in shown(panel.result_label)


def test_stopping_the_engine_stops_the_calibrator_first(qtbot: Any) -> None:
    s = Session(qtbot, stop_seconds=0.6)  # a training being cancelled
    s.wait_running()
    cal = s.start_calibration()
    s.wait_phase("collecting")
    t0 = time.perf_counter()
    s.window.top_bar.stop_button.click()
    assert time.perf_counter() - t0 < 0.3  # the GUI thread does not wait for either
    assert s.panel.calibrator is None and s.panel.phase == "stopped"
    assert "the session stopped" in shown(s.panel.status_label)
    qtbot.waitUntil(lambda: s.window.state == EngineState.STOPPED, timeout=5000)
    assert cal.calls == ["start", "stop"]
    assert s.events[:2] == ["calibrator.stop", "engine.stop"]
    assert not s.panel.start_button.isEnabled()  # no engine: nothing to calibrate beside
    assert "start the session first" in s.panel.start_button.toolTip()


def test_a_session_that_ends_by_itself_stops_the_calibrator(qtbot: Any) -> None:
    """--duration or an error ends the engine without the Stop button: calibration ends."""
    s = Session(qtbot)
    s.wait_running()
    cal = s.start_calibration()
    s.wait_phase("collecting")
    s.engines[-1]._set(EngineState.ERROR, "the stream broke")
    qtbot.waitUntil(lambda: cal.calls == ["start", "stop"], timeout=3000)
    assert s.panel.calibrator is None and s.panel.phase == "stopped"
    assert "the session is error" in shown(s.panel.status_label)


def test_closing_the_window_stops_the_calibrator(qtbot: Any) -> None:
    s = Session(qtbot)
    s.wait_running()
    cal = s.start_calibration()
    s.window.close()
    qtbot.waitUntil(lambda: "engine.stop" in s.events, timeout=5000)
    assert cal.calls == ["start", "stop"]
    assert s.events[0] == "calibrator.stop"


def test_restarting_the_session_stops_the_calibrator(qtbot: Any) -> None:
    s = Session(qtbot)
    s.wait_running()
    cal = s.start_calibration()
    s.window._reconfigure(hop=0.5)  # a running session restarts with new settings
    qtbot.waitUntil(lambda: len(s.engines) == 2 and s.window.state == EngineState.RUNNING,
                    timeout=5000)
    assert cal.calls == ["start", "stop"] and s.events[:2] == ["calibrator.stop",
                                                               "engine.stop"]
    assert s.panel.calibrator is None and s.panel.start_button.isEnabled()


def test_stop_calibration_from_the_panel(qtbot: Any) -> None:
    s = Session(qtbot, stop_seconds=0.4)
    s.wait_running()
    cal = s.start_calibration()
    s.wait_phase("collecting")
    s.panel.start_button.click()  # now "Stop calibration"
    assert s.panel.calibrator is None and not s.panel.start_button.isEnabled()
    qtbot.waitUntil(s.panel.start_button.isEnabled, timeout=3000)
    assert cal.calls == ["start", "stop"] and "engine.stop" not in s.events
    assert s.panel.start_button.text().endswith("Start calibration")
    assert "stopped" in shown(s.panel.status_label) and s.panel.phase == "stopped"
    assert s.panel.trials_box.isEnabled()
    second = s.start_calibration()  # a new calibration in the same session
    assert second is not cal and len(s.calibrators) == 2


def test_a_calibrator_that_cannot_start_is_reported(qtbot: Any) -> None:
    s = Session(qtbot, fail="no room for calibration-20261202-101500")
    s.wait_running()
    qtbot.waitUntil(s.panel.start_button.isEnabled, timeout=3000)
    s.panel.start_button.click()
    qtbot.waitUntil(lambda: s.panel.phase == "failed", timeout=3000)
    assert "RuntimeError: no room for calibration-20261202-101500" in shown(s.panel.status_label)
    assert s.panel.calibrator is None and s.panel.start_button.isEnabled()


def test_panel_is_disabled_with_the_reason_for_a_fake_engine(qtbot: Any) -> None:
    s = Session(qtbot, engine=FakeEngine, autostart=False)
    panel = s.panel
    assert panel.isEnabled() and not panel.start_button.isEnabled()  # no engine yet
    assert "start the session first" in panel.start_button.toolTip()
    assert "start the session first" in shown(panel.status_label)
    s.window.start_engine()
    s.wait_running()
    qtbot.waitUntil(lambda: not panel.isEnabled(), timeout=3000)
    assert not panel.start_button.isEnabled()
    assert "FakeEngine" in panel.toolTip() and "set_raw_sink" in panel.toolTip()
    assert "calibration needs the live engine" in shown(panel.status_label)
    s.window.stop_engine()
    qtbot.waitUntil(lambda: s.window.state == EngineState.STOPPED, timeout=4000)
    assert panel.isEnabled() and not panel.start_button.isEnabled()
    assert s.options == []


def test_status_bar_shows_the_model_and_the_recording(qtbot: Any) -> None:
    s = Session(qtbot)
    bar = s.window.status_panel
    assert bar.rec_badge.isHidden() and bar.model.text() == "model –"
    s.wait_running()
    qtbot.waitUntil(lambda: bar.model.text() == f"model {MODEL_ID}", timeout=3000)
    assert not bar.rec_badge.isHidden() and bar.rec_badge.text() == "REC"
    assert bar.recording.text() == RECORDING and bar.recording.isVisible()
    assert bar.session.text() == "session 02:05 · trial 3: negative"  # clock and trial
    engine = s.engines[-1]
    engine.recording = "recording p07.xdf (1.3 MB, 00:43)"
    qtbot.waitUntil(lambda: bar.recording.text().endswith("00:43)"), timeout=3000)
    s.window.stop_engine()
    qtbot.waitUntil(lambda: s.window.state == EngineState.STOPPED, timeout=4000)
    assert bar.rec_badge.isHidden() and bar.recording.isHidden() and bar.session.text() == ""


def test_long_messages_wrap_in_the_panel_and_never_resize_the_window(qtbot: Any) -> None:
    s = Session(qtbot)
    s.wait_running()
    cal = s.start_calibration()
    s.wait_phase("collecting")
    qtbot.wait(50)
    size, panel_width = s.window.size(), s.panel.width()
    trajectory_width = s.window.trajectory.width()
    path = "/data/lab/sessions/2026-12-02/participant_P07_with_a_long_name/" + "x" * 80
    cal.now = CalibrationStatus(CalibrationPhase.FAILED, f"calibration failed: cannot write "
                                f"{path}/calibration_raw.fif: No space left on device")
    s.wait_phase("failed")
    qtbot.wait(50)
    assert s.window.size() == size and s.panel.width() == panel_width
    assert s.window.trajectory.width() == trajectory_width
    assert shown(s.panel.status_label).endswith("No space left on device")
    assert s.panel.status_label.toolTip() == cal.now.message
    assert_not_cut(s.panel.status_label)
    assert s.panel.train_button.isEnabled()  # after a failure: train again when asked


def test_dock_can_be_hidden_and_shown_from_the_top_bar(qtbot: Any) -> None:
    s = Session(qtbot, autostart=False)
    qtbot.waitExposed(s.window)
    toggle = s.window.calibration_dock.toggleViewAction()
    assert toggle.isEnabled() and toggle.isChecked()
    toggle.trigger()
    assert s.window.calibration_dock.isHidden()
    toggle.trigger()
    assert not s.window.calibration_dock.isHidden()


def test_trials_spin_box_means_only_train_now_at_zero(qtbot: Any) -> None:
    s = Session(qtbot, autostart=False)
    box = s.panel.trials_box
    box.setValue(2)
    box.stepDown()  # 1 trial cannot be split: straight to 0
    assert box.value() == 0 and box.text() == "Train now only"
    assert s.panel.options()["trials_needed"] is None
    box.stepUp()
    assert box.value() == 2 and s.panel.options()["trials_needed"] == 2
    assert s.panel.options()["participant"] is None
    assert s.panel.options()["start_from"] is None  # the running model


def test_breakable_lets_long_words_wrap_and_keeps_the_text() -> None:
    text = "model /data/lab/sessions/p07-calibrated.safetensors " + "y" * 60 + " ok"
    out = breakable(text)
    assert out.replace(ZWSP, "") == text
    assert all(len(word) <= 24 for part in out.split(" ") for word in part.split(ZWSP))
    assert breakable("calibration: 3/9 labelled trials") == "calibration: 3/9 labelled trials"


def test_calibration_paths_beside_the_recording_or_here(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    rec = tmp_path / "p07.xdf"
    folder, model = calibration_paths(rec)
    assert (folder, model) == (tmp_path / "p07-calibration",
                               tmp_path / "p07-calibrated.safetensors")
    folder.mkdir()
    model.write_bytes(b"")
    assert calibration_paths(rec) == (tmp_path / "p07-calibration-1",
                                      tmp_path / "p07-calibrated-1.safetensors")
    monkeypatch.chdir(tmp_path)
    folder, model = calibration_paths(None, stamp="20261202-101500")
    assert folder == Path("calibration-20261202-101500")
    assert model == folder / "calibrated.safetensors"


def test_default_factory_builds_the_real_calibrator(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from bci_app.calibration.controller import Calibrator

    monkeypatch.chdir(tmp_path)
    engine = CalibratableEngine(default_config(), [])
    assert calibration_unsupported(engine) == ""
    assert "FakeEngine" in calibration_unsupported(FakeEngine(default_config()))
    engine.recording_path = tmp_path / "p07.xdf"
    cal = default_calibrator_factory(engine, {"trials_needed": 9, "start_from": SCRATCH,
                                              "participant": "P07"})
    assert isinstance(cal, Calibrator)  # not started: nothing is written
    assert cal.folder == tmp_path / "p07-calibration"
    assert cal.model_path == tmp_path / "p07-calibrated.safetensors"
    assert (cal.trials_needed, cal.start_from, cal.participant, cal.threads) == (9, SCRATCH,
                                                                                 "P07", 1)
    assert cal.status().phase == CalibrationPhase.COLLECTING
    assert cal.class_names == list(engine.class_names)  # no label map: the running model's
    engine.marker_labels = "T1=fists,T2=feet"  # the session's label map: its classes
    assert default_calibrator_factory(engine, {}).class_names == ["fists", "feet"]


def test_marker_stream_and_label_map_reach_the_calibrator(qtbot: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The chooser lists the network's marker streams (in a worker thread); a label map is
    checked before anything starts; a choice other than the session's goes to the factory
    (which has the engine follow it), the session's own needs nothing."""
    from bci_app.lsl import streams as lsl_streams
    from bci_app.lsl.streams import StreamDescription

    found = [StreamDescription(name="psychopy", stype="Markers", source_id="pp", host="lab",
                               n_channels=1, sfreq=0.0, dtype="string"),
             StreamDescription(name="eeg", stype="EEG", source_id="e", host="lab",
                               n_channels=8, sfreq=250.0, dtype="float32")]
    monkeypatch.setattr(lsl_streams, "list_streams", lambda timeout=1.0: found)
    s = Session(qtbot)
    s.wait_running()
    panel = s.panel
    assert panel.markers_box.currentText().startswith("the session's")
    assert "markers" not in panel.options()  # the session's stream, its (no) label map
    panel.markers_refresh.click()
    qtbot.waitUntil(lambda: panel.markers_box.count() == 2, timeout=3000)
    assert panel.markers_box.itemText(1) == "psychopy"  # EEG streams are not offered
    panel.labels_edit.setText("film_sad")  # no '='
    panel.start_button.click()
    assert "label map" in shown(panel.status_label) and panel.calibrator is None
    panel.markers_box.setCurrentIndex(1)
    panel.labels_edit.setText("/^film_sad/=negative,film_fun=positive")
    calibrator = s.start_calibration()
    assert calibrator.calls == ["start"]
    assert s.options[-1]["markers"] == ("psychopy", "/^film_sad/=negative,film_fun=positive")
    assert not panel.markers_box.isEnabled() and not panel.labels_edit.isEnabled()


def test_window_redraws_for_a_model_with_other_classes(qtbot: Any) -> None:
    """After a swap to a model with other classes, results have another width: the
    trajectory takes the new class names instead of failing on every tick."""
    s = Session(qtbot)
    s.wait_running()
    engine = s.engines[-1]
    qtbot.waitUntil(lambda: s.window.results_received > 2, timeout=4000)
    engine.class_names = ["calm", "tense"]  # what Engine.swap_model does; results follow
    qtbot.waitUntil(lambda: s.window.trajectory.class_names == ["calm", "tense"], timeout=4000)
    n = s.window.results_received
    qtbot.waitUntil(lambda: s.window.results_received > n + 2, timeout=4000)
    assert s.window._smooth_buf.width == 2
    assert s.window._tick_error_shown == 0.0  # no display update failed


def test_trial_starts_are_ticks_on_the_trajectory(qtbot: Any) -> None:
    """Each trial start of the marker stream is a labelled tick at its place in time."""
    from bci_app.lsl.markers import MarkerTracker

    s = Session(qtbot)
    s.wait_running()
    engine = s.engines[-1]
    qtbot.waitUntil(lambda: s.window.results_received > 2, timeout=4000)
    window = s.window
    newest = window._t_ref + float(window._t_buf.view()[-1, 0])
    tracker = MarkerTracker()
    tracker.add("trial 3 start negative", newest - 5.0)
    tracker.add("trial 3 end negative", newest - 2.0)
    tracker.add("trial 4 start positive", newest - 1.9)
    tracker.add("trial 1 start neutral", newest - 10 * window._traj_s)  # long out of view
    tracker.add("trial 1 end neutral", newest - 9 * window._traj_s)
    engine.marker_tracker = tracker
    traj = window.trajectory
    qtbot.waitUntil(lambda: [text for _, text in traj.trial_marks] == ["3 negative",
                                                                       "4 positive"],
                    timeout=4000)
    x = [v for v, _ in traj.trial_marks]
    assert -7.0 < x[0] < -4.5 and x[0] < x[1] <= 0  # seconds before the newest window
    shown_labels = [i.toPlainText() for i in traj._tick_labels if i.isVisible()]
    assert shown_labels == ["", "4 positive"]  # 3 s apart, near now: the newest keeps its
    # text (ending at its tick); the older one has no room, not even for its number
    traj.set_trial_marks([-150.0, -60.0], ["5 neutral", "6 negative"])  # far apart: both whole
    assert [i.toPlainText() for i in traj._tick_labels if i.isVisible()] == ["5 neutral",
                                                                             "6 negative"]
    traj.set_trial_marks([-27.0, -7.0], ["1 positive", "2 neutral"])  # the second ends at its
    shown = [i.toPlainText() for i in traj._tick_labels if i.isVisible()]  # tick, leftwards
    assert shown[1] == "2 neutral" and shown[0] in ("1", "")  # the older one gives way
    first, second = (i for i in traj._tick_labels if i.isVisible())
    assert first.sceneBoundingRect().right() <= second.sceneBoundingRect().left() + 1


class RecordableEngine(CalibratableEngine):
    """Notes the live recording calls of the real engine's API; fails when told to."""

    fail = ""

    def start_recording(self, log_path: Path | None, record: Path | None) -> None:
        """Note the call (or fail like a path LabRecorder cannot write)."""
        if self.fail:
            raise OSError(self.fail)
        self.events.append(f"start_recording {Path(log_path).name} {Path(record).name}")

    def stop_recording(self) -> None:
        """Note the call."""
        self.events.append("stop_recording")


def test_record_button_records_the_running_session_without_a_restart(qtbot: Any,
                                                                    tmp_path: Path) -> None:
    """The session (and so a calibrated model in use) goes on: no second engine is built."""
    s = Session(qtbot, engine=RecordableEngine)
    s.wait_running()
    bar = s.window.top_bar
    bar.log_edit.setText(str(tmp_path / "p07.csv"))
    bar.record_button.click()
    qtbot.waitUntil(lambda: "start_recording p07.csv p07.xdf" in s.events, timeout=3000)
    qtbot.waitUntil(lambda: "recording: log" in s.window.status_panel.message.toolTip(),
                    timeout=3000)
    bar.record_button.click()
    qtbot.waitUntil(lambda: "stop_recording" in s.events, timeout=3000)
    assert len(s.engines) == 1 and s.window.config.record is None
    RecordableEngine.fail = "no space left on device"
    try:
        bar.record_button.click()
        qtbot.waitUntil(lambda: not bar.record_button.isChecked(), timeout=3000)
        assert "no space left" in s.window.status_panel.message.toolTip()
    finally:
        RecordableEngine.fail = ""
    assert len(s.engines) == 1


def test_the_command_lines_calibration_starts_once_the_session_runs(qtbot: Any,
                                                                    tmp_path: Path) -> None:
    """``bci-app --calibrate-trials 4 --then-run ...`` in the window: the panel shows the
    plan's settings and starts calibrating by itself when the session runs; a second
    calibration (the user's) keeps the settings but not the first one's file names."""
    model = tmp_path / "start.safetensors"
    plan = {"trials_needed": 4, "then_run": True, "start_from": model, "participant": "P07",
            "train_args": ["--epochs", "5"], "folder": tmp_path / "s-calibration",
            "model_path": tmp_path / "s-calibrated.safetensors"}
    s = Session(qtbot, calibration=plan)
    panel = s.panel
    assert panel.trials_box.value() == 4 and panel.then_run_box.isChecked()
    assert panel.start_from_box.currentText() == "start.safetensors"
    assert panel.participant_edit.text() == "P07"
    qtbot.waitUntil(lambda: panel.calibrator is not None, timeout=5000)  # nobody clicked
    assert s.options == [{"train_args": ["--epochs", "5"], "folder": tmp_path / "s-calibration",
                          "model_path": tmp_path / "s-calibrated.safetensors",
                          "trials_needed": 4, "start_from": model, "then_run": True,
                          "participant": "P07"}]
    panel.start_button.click()  # stop it
    qtbot.waitUntil(lambda: panel.calibrator is None and panel.start_button.isEnabled(),
                    timeout=5000)
    s.start_calibration()
    assert s.options[1] == {"train_args": ["--epochs", "5"], "trials_needed": 4,
                            "start_from": model, "then_run": True, "participant": "P07"}
