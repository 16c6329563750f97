"""The whole loop from the command line: replay -> bci-app --headless --record
--calibrate-trials N --then-run -> XDF, calibrated model, predictions from it after the swap."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from tests.helpers import LSL_API_CFG

ENV = {**os.environ, "LSLAPICFG": str(LSL_API_CFG), "QT_QPA_PLATFORM": "offscreen"}
pytestmark = pytest.mark.lsl


class _Output:
    """Collects a process's merged output in a thread; :meth:`wait_for` a line."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if any(text in line for line in self.lines):
                return True
            time.sleep(0.2)
        return False

    def text(self) -> str:
        return "\n".join(self.lines)


def _replay(path: Path, name: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bci_app.replay", str(path), "--name", name,
                             "--source-id", name, "--loop"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=ENV)


def _app(args: list[str], headless: bool = True) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bci_app.cli", "--device", "cpu", *args,
                             *(["--headless"] if headless else [])], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=ENV)


def _swapped(log: Path) -> bool:
    """Whether the session log's newest row comes from another model than its first."""
    if not log.exists():
        return False
    rows = list(csv.DictReader(log.open()))
    return len(rows) > 1 and rows[-1]["model"] != rows[0]["model"]


def _end(*processes: subprocess.Popen) -> None:
    for p in processes:
        if p.poll() is None:
            p.terminate()
    for p in processes:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["headless", pytest.param("window", marks=pytest.mark.gui)])
def test_record_calibrate_and_swap(mode: str, seed_session_file: Path, tiny_model: Path,
                                   tmp_path: Path, unique_name: str) -> None:
    """About 60-90 s on 2 cores each: 10 trials of 3 s, a short fine-tuning, a few s after it.
    The window (offscreen) takes the same options: its Calibrate panel starts by itself."""
    import pyxdf

    from models import load_model

    record, log, summary = tmp_path / "s.xdf", tmp_path / "s.csv", tmp_path / "s.json"
    replay = _replay(seed_session_file, unique_name)
    app = _app(["--stream", unique_name, "--model", str(tiny_model), "--outlet-name",
                f"{unique_name}-pred", "--record", str(record), "--log", str(log),
                "--summary", str(summary), "--calibrate-trials", "10", "--then-run",
                "--participant", "P07", "--calibrate-args", "--epochs 1 --min-steps 10"],
               headless=mode == "headless")
    out = _Output(app)
    try:
        if mode == "headless":
            assert out.wait_for("predicting with s-calibrated.safetensors", 180), out.text()
        else:  # the window says it in its panel; the log shows it
            end = time.monotonic() + 180
            while not _swapped(log) and time.monotonic() < end and app.poll() is None:
                time.sleep(0.5)
        assert out.wait_for("event: model", 10), out.text()
        time.sleep(3)  # a few windows from the new model
        app.send_signal(signal.SIGTERM)
        assert app.wait(60) == 128 + signal.SIGTERM, out.text()
    finally:
        _end(app, replay)
    text = out.text()
    if mode == "headless":
        assert "calibration: 1/10 labelled trials" in text  # the first trial has its truth
        assert "held-out calibration trials" in text and "starting model as it was" in text
    model_file = tmp_path / "s-calibrated.safetensors"
    new = load_model(model_file)
    assert new.meta.provenance.participant == "P07"
    assert len(new.meta.provenance.trials) >= 10
    assert new.meta.provenance.init_model == load_model(tiny_model).digest
    new_id = new.digest[:12]
    rows = list(csv.DictReader(log.open()))
    ids = [r["model"] for r in rows]
    assert ids[-1] == new_id and ids[0] != new_id
    k = ids.index(new_id)
    assert set(ids[k:]) == {new_id}  # every window after the swap
    # truth from the very first window: the trial under way at connect was re-announced to
    # the app's marker inlet, which subscribed before LabRecorder and settled before the
    # first prediction (the trials are back to back, so every window has a trial)
    assert all(r["truth"] for r in rows[:10]), [(r["lsl_time"], r["truth"]) for r in rows[:12]]
    streams = {s["info"]["name"][0]: s for s in pyxdf.load_xdf(str(record))[0]}
    assert set(streams) == {unique_name, f"{unique_name}-markers", f"{unique_name}-pred",
                            f"{unique_name}-pred-events"}
    events = [e[0] for e in streams[f"{unique_name}-pred-events"]["time_series"]]
    assert events[0].startswith("model ") and events[-1] == f"model {new_id} {model_file.name}"
    assert any(e.startswith("calibration trained") for e in events)
    eeg = streams[unique_name]
    assert eeg["time_series"].shape[1] == 62 and len(eeg["time_stamps"]) > 200 * 30
    pred_t = streams[f"{unique_name}-pred"]["time_stamps"]
    assert eeg["time_stamps"][0] <= pred_t[0] and pred_t[-1] <= eeg["time_stamps"][-1] + 1
    assert summary.exists(), text
    data = json.loads(summary.read_text())
    assert [m["id"] for m in data["models"]][-1] == new_id
    assert data["recording"]["path"] == str(record)


def test_calibration_options_are_checked(tiny_model: Path) -> None:
    bad = subprocess.run([sys.executable, "-m", "bci_app.cli", "--headless", "--then-run"],
                         capture_output=True, text=True, env=ENV, timeout=60)
    assert bad.returncode == 2 and "--then-run needs --calibrate-trials" in bad.stderr
    few = subprocess.run([sys.executable, "-m", "bci_app.cli", "--headless",
                          "--calibrate-trials", "1"], capture_output=True, text=True, env=ENV,
                         timeout=60)
    assert few.returncode == 2 and "at least 2" in few.stderr
    path = subprocess.run([sys.executable, "-m", "bci_app.cli", "--headless", "--record",
                           "/nonexistent-folder/s.xdf"], capture_output=True, text=True,
                          env=ENV, timeout=60)
    assert path.returncode == 5 and "does not exist" in path.stderr


@pytest.mark.slow
def test_a_killed_session_leaves_a_readable_recording(seed_session_file: Path,
                                                      tiny_model: Path, tmp_path: Path,
                                                      unique_name: str) -> None:
    """SIGKILL of the app mid-session: LabRecorder finishes the file (10-20 s)."""
    import pyxdf

    record = tmp_path / "k.xdf"
    replay = _replay(seed_session_file, unique_name)
    app = _app(["--stream", unique_name, "--model", str(tiny_model), "--outlet-name",
                f"{unique_name}-pred", "--record", str(record)])
    out = _Output(app)
    recorders: list[psutil.Process] = []
    try:
        assert out.wait_for("recording 4 streams", 60), out.text()
        time.sleep(4)
        recorders = [c for c in psutil.Process(app.pid).children(recursive=True)
                     if "LabRecorderCLI" in c.name()]
        assert recorders, "no LabRecorderCLI child"
        app.send_signal(signal.SIGKILL)
        app.wait(10)
        _, alive = psutil.wait_procs(recorders, timeout=20)
        assert not alive, "LabRecorderCLI went on after the app died"
    finally:
        for r in recorders:
            if r.is_running():
                r.kill()
        _end(app, replay)
    streams = {s["info"]["name"][0]: s for s in pyxdf.load_xdf(str(record))[0]}
    eeg = streams[unique_name]
    assert len(eeg["time_stamps"]) >= 200 * 3  # the seconds before the kill
    assert len(streams[f"{unique_name}-pred"]["time_stamps"]) >= 8
