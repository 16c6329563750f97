"""The window on the real engine and a real replay stream (pytest-qt, offscreen)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("pytestqt")

from PySide6 import QtCore, QtGui

from bci_app.engine.config import EngineConfig
from bci_app.engine.engine import Engine
from bci_app.gui.app import run_gui
from bci_app.gui.main_window import MainWindow
from bci_app.lsl.streams import list_streams
from bci_app.replay.player import Replay
from models.eeg.seed_layout import SEED_CHANNELS
from tests.bci_app.model_files import (
    CAP32_CHANNELS,
    EMOTION4_CLASSES,
    MOTOR_CHANNELS,
    MOTOR_CLASSES,
    tones,
)
from tests.helpers import Pusher, outlet_listed, pylsl_outlet, read_log

pytestmark = [pytest.mark.gui, pytest.mark.lsl]


def test_window_on_a_replay_stream(qtbot: Any, seed_session_file: Path, tiny_model: Path,
                                   tmp_path: Path, unique_name: str) -> None:
    replay = Replay(seed_session_file, name=unique_name, source_id=unique_name, loop=True)
    replay.start()
    config = EngineConfig(model=tiny_model, stream=unique_name, device="cpu", lost_after=0.5,
                          outlet_name=f"{unique_name}-pred")
    window = MainWindow(Engine, config, stream_lister=lambda: list_streams(timeout=1.0),
                        autostart=True)
    qtbot.addWidget(window, before_close_func=lambda w: w.shutdown(5.0))
    window.resize(1400, 900)
    window.show()
    try:
        # the picker lists the replay stream
        box = window.top_bar.stream_box
        qtbot.waitUntil(lambda: any(unique_name in box.itemText(i) for i in range(box.count())),
                        timeout=10_000)
        # every plot receives data within seconds; the status bar shows latency
        def drawn(curve: Any) -> int:
            x, _ = curve.getData()
            return 0 if x is None else x.size

        qtbot.waitUntil(lambda: window.state == "running"
                        and drawn(window.trajectory.curves[0]) >= 4
                        and drawn(window.bands.curves["temporal"][4]) >= 4
                        and window.head_map.image.image is not None, timeout=20_000)
        qtbot.waitUntil(lambda: "ms" in window.status_panel.latency.text(), timeout=5000)
        x, y = window.trajectory.curves[0].getData()
        assert x.size >= 4 and np.all((y >= 0) & (y <= 1))
        assert window.bands.curves["temporal"][4].getData()[0].size >= 4
        assert np.isfinite(window.head_map.image.image).any()
        assert window.traces.curves["frontal"].getData()[0].size > 100
        assert unique_name in window.status_panel.stream.text()
        assert "62 matched" in window.status_panel.channels.text()

        # the stream is killed mid-run: lost, then it recovers when it returns
        replay.stop()
        qtbot.waitUntil(lambda: window.state == "lost", timeout=5000)
        assert "lost" in window.status_panel.state.text()
        replay = Replay(seed_session_file, name=unique_name, source_id=unique_name, loop=True)
        replay.start()
        qtbot.waitUntil(lambda: window.state == "running", timeout=30_000)
        assert "1 reconnects" in window.status_panel.losses.text()

        # stop and start again
        qtbot.mouseClick(window.top_bar.stop_button, QtCore.Qt.LeftButton)
        qtbot.waitUntil(lambda: window.state == "stopped", timeout=10_000)
        before = window.results_received
        qtbot.mouseClick(window.top_bar.start_button, QtCore.Qt.LeftButton)
        qtbot.waitUntil(lambda: window.state == "running"
                        and window.results_received > before + 2, timeout=20_000)

        # a screenshot of the whole window, not blank
        shot = tmp_path / "window.png"
        assert window.grab().save(str(shot))
        image = QtGui.QImage(str(shot))
        assert image.width() >= 1000
        colours = {image.pixel(x, y) for x in range(0, image.width(), 7)
                   for y in range(0, image.height(), 7)}
        assert len(colours) > 50
    finally:
        window.shutdown(5.0)
        replay.stop()


def _pusher_session(unique_name: str, tiny_model: Path,
                    tmp_path: Path) -> tuple[Any, Pusher, EngineConfig]:
    """A pylsl outlet of EEG-like noise, its pusher, and a session config on it."""

    def eeg(idx: np.ndarray) -> np.ndarray:
        return np.random.default_rng(int(idx[0])).normal(0, 10, (idx.size, 62))

    outlet = pylsl_outlet(unique_name, list(SEED_CHANNELS), 200.0)
    config = EngineConfig(model=tiny_model, stream=unique_name, device="cpu", markers=False,
                          outlet_name=f"{unique_name}-pred", log=tmp_path / "log.csv",
                          summary=tmp_path / "summary.json")
    return outlet, Pusher(outlet, 200.0, eeg, chunk=5), config


def _check_shutdown(tmp_path: Path, unique_name: str) -> None:
    rows = read_log(tmp_path / "log.csv")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["windows_predicted"] == len(rows) >= 3
    assert not outlet_listed(f"{unique_name}-pred")


@pytest.mark.parametrize("how", ["duration", "SIGTERM"])
def test_closing_the_window_stops_the_session_in_order(how: str, qtbot: Any, tiny_model: Path,
                                                       tmp_path: Path, unique_name: str) -> None:
    """``--duration`` closes the window as the user would; a stop signal closes it too. Either
    way the engine stops in order: log closed, summary written, outlet withdrawn."""
    outlet, pusher, config = _pusher_session(unique_name, tiny_model, tmp_path)
    log = tmp_path / "log.csv"

    def send_sigterm_once_running() -> None:
        if not (log.exists() and len(read_log(log)) >= 3):
            QtCore.QTimer.singleShot(100, send_sigterm_once_running)
        elif signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:  # run_gui's handler
            signal.raise_signal(signal.SIGTERM)

    with pusher:
        if how == "SIGTERM":
            QtCore.QTimer.singleShot(100, send_sigterm_once_running)
            rc = run_gui(config, stream_lister=lambda: [])
            assert rc == 128 + signal.SIGTERM
        else:
            assert run_gui(config, duration=5.0, stream_lister=lambda: []) == 0
    del outlet
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # restored
    _check_shutdown(tmp_path, unique_name)


@pytest.mark.parametrize("kind", ["motor", "emotion4"])
def test_window_on_the_engine_follows_the_model(kind: str, qtbot: Any, motor_model_file: Path,
                                                emotion4_model_file: Path, tmp_path: Path,
                                                unique_name: str) -> None:
    """The real engine on a two-class 16-channel model without F3/F4 (its 8-30 Hz chain
    overridden by a 4 Hz high-pass: the status line warns) and on a four-class 32-channel
    model: legend, chance line, notes, log header and outlet all follow the model."""
    model, classes, channels, options = {
        "motor": (motor_model_file, MOTOR_CLASSES, MOTOR_CHANNELS, {"l_freq": 4.0}),
        "emotion4": (emotion4_model_file, EMOTION4_CLASSES, CAP32_CHANNELS, {})}[kind]
    import pylsl

    k = len(classes)
    outlet = pylsl_outlet(unique_name, channels, 200.0)
    config = EngineConfig(model=model, stream=unique_name, device="cpu", markers=False,
                          outlet_name=f"{unique_name}-pred", log=tmp_path / "log.csv",
                          **options)
    window = MainWindow(Engine, config, stream_lister=lambda: [], autostart=True)
    qtbot.addWidget(window, before_close_func=lambda w: w.shutdown(5.0))
    window.resize(1400, 900)
    window.show()
    traj = window.trajectory
    try:
        with Pusher(outlet, 200.0, tones(200.0, len(channels)), chunk=10):
            qtbot.waitUntil(lambda: window.state == "running" and len(traj.curves) == k
                            and traj.curves[-1].getData()[0] is not None
                            and traj.curves[-1].getData()[0].size >= 4, timeout=20_000)
            assert [name for name, _ in traj.legend] == classes
            assert traj.chance_line.value() == pytest.approx(1 / k)
            assert window.engine.class_names == classes
            infos = pylsl.resolve_byprop("name", f"{unique_name}-pred", 1, 5.0)
            assert infos and infos[0].channel_count() == k
            message = window.status_panel.message.text()
            if kind == "motor":
                assert window.bands.notes["faa"] == "F3/F4 not in this model's channels"
                assert "trained with 8-30 Hz" in message and "running with 4-30 Hz" in message
            else:
                assert window.bands.notes["faa"] == ""
                assert "filters differ" not in message
            assert f"{len(channels)} matched" in window.status_panel.channels.text()
    finally:
        window.shutdown(5.0)
        del outlet
    header = list(read_log(tmp_path / "log.csv")[0])
    assert [c for c in header if c.startswith("p_")] == \
        [f"p_{c}" for c in classes] + [f"p_{c}_smooth" for c in classes]


@pytest.mark.slow
def test_calibrate_train_and_swap_in_the_window(qtbot: Any, seed_session_file: Path,
                                                tiny_model: Path, tmp_path: Path,
                                                unique_name: str) -> None:
    """The Calibrate panel on a live replay: 10 trials of 3 s, a short real training (the
    trainer's process, one thread, niceness 10), Use this model, the next windows from it
    (60-120 s on 2 cores)."""
    from bci_app.calibration.controller import CalibrationPhase, Calibrator

    made: list[Calibrator] = []

    def factory(engine: Any, options: dict[str, Any]) -> Calibrator:
        calibrator = Calibrator(engine, tmp_path / "cal", threads=1,
                                train_args=["--epochs", "1", "--min-steps", "10"], **options)
        made.append(calibrator)
        return calibrator

    replay = Replay(seed_session_file, name=unique_name, source_id=unique_name, loop=True)
    replay.start()
    config = EngineConfig(model=tiny_model, stream=unique_name, device="cpu",
                          outlet_name=f"{unique_name}-pred", log=tmp_path / "log.csv",
                          record=tmp_path / "log.xdf")  # what the Record button sets
    window = MainWindow(Engine, config, stream_lister=lambda: [], autostart=True,
                        calibrator_factory=factory)
    qtbot.addWidget(window, before_close_func=lambda w: w.shutdown(15.0))
    window.resize(1680, 1000)
    window.show()
    panel = window.calibration
    try:
        qtbot.waitUntil(lambda: window.state == "running" and panel.start_button.isEnabled(),
                        timeout=30_000)
        first_model = window.engine.status().model
        qtbot.waitUntil(lambda: window.status_panel.rec_badge.isVisible(), timeout=10_000)
        assert "log.xdf" in window.status_panel.recording.text()
        panel.trials_box.setValue(10)
        panel.participant_edit.setText("P09")
        qtbot.mouseClick(panel.start_button, QtCore.Qt.LeftButton)
        qtbot.waitUntil(lambda: bool(made) and made[0].status().phase
                        in (CalibrationPhase.TRAINED, CalibrationPhase.FAILED), timeout=150_000)
        status = made[0].status()
        assert status.phase == CalibrationPhase.TRAINED, status.message
        qtbot.waitUntil(panel.use_button.isEnabled, timeout=2_000)
        assert "fine-tuned" in panel.result_label.text().replace("\u200b", "")
        qtbot.mouseClick(panel.use_button, QtCore.Qt.LeftButton)
        qtbot.waitUntil(lambda: window.engine.status().model not in ("", first_model),
                        timeout=10_000)
        new_model = window.engine.status().model
        n = window.engine.status().stats.windows_predicted
        qtbot.waitUntil(lambda: window.engine.status().stats.windows_predicted >= n + 4,
                        timeout=10_000)
        assert made[0].status().phase == CalibrationPhase.SWAPPED
    finally:
        window.close()
        window.shutdown(15.0)
        replay.stop()
    rows = read_log(tmp_path / "log.csv")
    assert rows[-1]["model"] == new_model and rows[0]["model"] == first_model
    import pyxdf

    streams = {s["info"]["name"][0]: s for s in pyxdf.load_xdf(str(tmp_path / "log.xdf"))[0]}
    events = [e[0] for e in streams[f"{unique_name}-pred-events"]["time_series"]]
    assert events[0] == f"model {first_model} {tiny_model.name}"
    assert events[-1].startswith(f"model {new_model} ")
    assert len(streams[unique_name]["time_stamps"]) > 200 * 20
    from models import load_model

    assert load_model(status.model_path).meta.provenance.participant == "P09"
