"""``sicleer-predict``: a recording scored as the live engine scores it; live equals offline."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import mne
import numpy as np
import pytest

from models import load_model
from models.preprocessing import FilterSpec
from offline_training.predict import (
    AlignmentError,
    LoggedWindow,
    read_session_log,
    replay_t0,
    score_recording,
    score_session,
)
from offline_training.predict_cli import main
from offline_training.recordings import parse_label_map, read_recording
from tests.helpers import LSL_API_CFG, make_model_file, shared_data

ENV = {**os.environ, "LSLAPICFG": str(LSL_API_CFG), "QT_QPA_PLATFORM": "offscreen"}
MOTOR = ["Fc3", "Fc1", "Fcz", "Fc2", "Fc4", "C5", "C3", "C1", "Cz", "C2", "C4", "C6"]
CLASSES = ["rest", "fists", "feet"]
LABELS = "T0=rest,T1=fists,T2=feet"


def _edf() -> Path:
    return shared_data("eegmmidb_S001", "S001R05.edf")


@pytest.fixture(scope="module")
def motor_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Random weights over 12 motor channels of eegmmidb at its 160 Hz, an 8-30 Hz chain."""
    return make_model_file(tmp_path_factory.mktemp("predict") / "motor.safetensors",
                           channels=MOTOR, sfreq=160.0, window_samples=160, class_names=CLASSES,
                           filters=FilterSpec(8.0, 30.0, None, 4))


def _small_recording(tmp_path: Path, seconds: float = 20.0) -> Path:
    """An EDF-like FIF of the motor channels at 160 Hz with two annotated trials."""
    rng = np.random.default_rng(0)
    n = int(seconds * 160)
    info = mne.create_info(MOTOR, 160.0, "eeg")
    raw = mne.io.RawArray(rng.normal(0, 20e-6, (len(MOTOR), n)), info, verbose="error")
    raw.set_annotations(mne.Annotations([2.0, 10.0], [4.0, 4.0], ["T1", "T2"]))
    path = tmp_path / "small_raw.fif"
    raw.save(path, verbose="error")
    return path


def test_scores_follow_the_live_schedule(tmp_path: Path, motor_model: Path) -> None:
    """Windows start after the filters' warm-up plus one window, one per hop; the truth comes
    from the labelled trials; probabilities are finite and sum to one."""
    model = load_model(motor_model, "cpu")
    rec = read_recording(_small_recording(tmp_path), parse_label_map("T1=fists,T2=feet"))
    scores = score_recording(rec, model, hop=0.5)
    from bci_app.signal.pipeline import LivePipeline

    warm = LivePipeline(MOTOR, None, 160.0, MOTOR, 160.0, FilterSpec(8.0, 30.0, None, 4))
    first = (warm.warmup_samples + 160 - 1) / 160.0
    assert scores.time_s[0] == pytest.approx(first)
    assert np.allclose(np.diff(scores.time_s), 0.5)
    assert scores.time_s[-1] <= 20.0
    assert np.allclose(scores.probs.sum(axis=1), 1.0, atol=1e-5)
    inside = [t for t, s in zip(scores.truth, scores.time_s, strict=True) if 2.0 <= s < 6.0]
    assert inside and set(inside) == {"fists"}
    assert scores.truth[-1] == ""  # after the last trial


def test_missing_channels_are_refused_naming_them(tmp_path: Path, motor_model: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    info = mne.create_info(["O1", "O2", "Oz"], 160.0, "eeg")
    raw = mne.io.RawArray(np.zeros((3, 1600)), info, verbose="error")
    path = tmp_path / "occipital_raw.fif"
    raw.save(path, verbose="error")
    code = main(["--model", str(motor_model), "--data", str(path), "--out",
                 str(tmp_path / "p.csv"), "-q"])
    err = capsys.readouterr().err
    assert code == 3 and "sicleer-predict: error" in err and "C3" in err


def test_bad_inputs_get_one_clear_message(tmp_path: Path, motor_model: Path,
                                          capsys: pytest.CaptureFixture) -> None:
    rec = _small_recording(tmp_path)
    out = str(tmp_path / "p.csv")
    assert main(["--model", str(motor_model), "--data", str(tmp_path / "x.txt"), "--out", out,
                 "-q"]) == 3
    assert "unknown recording format" in capsys.readouterr().err
    bad_model = tmp_path / "bad.safetensors"
    bad_model.write_bytes(b"not a model")
    assert main(["--model", str(bad_model), "--data", str(rec), "--out", out, "-q"]) == 3
    assert "bad.safetensors" in capsys.readouterr().err
    log = tmp_path / "old.csv"
    log.write_text("lsl_time,p_rest\n1.0,0.5\n")
    assert main(["--model", str(motor_model), "--data", str(rec), "--out", out, "--align-to",
                 str(log), "--stream-t0", "0", "-q"]) == 3
    assert "segment_start" in capsys.readouterr().err
    log.write_text("lsl_time,segment_start\n5.0,1.0\n")
    assert main(["--model", str(motor_model), "--data", str(rec), "--out", out, "--align-to",
                 str(log), "-q"]) == 3
    assert "--stream-t0" in capsys.readouterr().err  # no summary beside it
    summary = tmp_path / "old.json"
    summary.write_text(json.dumps({"stream": {"name": "amp", "replay": None}}))
    assert main(["--model", str(motor_model), "--data", str(rec), "--out", out, "--align-to",
                 str(log), "-q"]) == 3
    assert "not a replay" in capsys.readouterr().err


def test_a_log_of_another_file_or_clock_is_refused(tmp_path: Path, motor_model: Path) -> None:
    model = load_model(motor_model, "cpu")
    rec = read_recording(_small_recording(tmp_path, 20.0), require_trials=False)
    beyond = [LoggedWindow(100.0 + 30.0, 100.0, None)]  # 30 s into a 20-s file
    with pytest.raises(AlignmentError, match="sample"):
        score_session(rec, model, beyond, t0=100.0)
    between = [LoggedWindow(105.0, 100.0 + 0.5 / 160, None)]  # between two samples
    with pytest.raises(AlignmentError, match="between samples"):
        score_session(rec, model, between, t0=100.0)


@pytest.mark.lsl
def test_live_equals_offline(tmp_path: Path, motor_model: Path, unique_name: str) -> None:
    """Real EEG (eegmmidb S001R05) replayed into ``bci-app --headless --log``, then scored
    again by ``sicleer-predict --align-to``: every logged window, to 1e-4. About 20 s."""
    edf = _edf()
    replay = subprocess.Popen([sys.executable, "-m", "bci_app.replay", str(edf), "--name",
                               unique_name], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=ENV)
    log, summary = tmp_path / "session.csv", tmp_path / "session.json"
    try:
        app = subprocess.run([sys.executable, "-m", "bci_app.cli", "--headless", "--stream",
                              unique_name, "--model", str(motor_model), "--duration", "8",
                              "--log", str(log), "--summary", str(summary), "--outlet-name",
                              f"{unique_name}-out", "--device", "cpu"],
                             capture_output=True, text=True, timeout=90, env=ENV)
    finally:
        replay.terminate()
        replay.wait(10)
    assert app.returncode == 0, app.stderr
    t0, file = replay_t0(summary)
    assert file == edf.name
    rows, same = read_session_log(log, CLASSES)
    assert same and len(rows) >= 10
    out = tmp_path / "offline.csv"
    assert main(["--model", str(motor_model), "--data", str(edf), "--labels", LABELS,
                 "--align-to", str(log), "--out", str(out), "-q"]) == 0
    offline = list(csv.DictReader(out.open()))
    assert len(offline) == len(rows)
    live = np.stack([r.probs for r in rows])
    again = np.array([[float(r[f"p_{c}"]) for c in CLASSES] for r in offline])
    assert np.abs(live - again).max() < 1e-4
    assert [float(r["lsl_time"]) for r in offline] == pytest.approx([r.lsl_time for r in rows])
    # the segment began mid-file (the replay ran before the app connected) and was found
    first_sample = (rows[0].segment_start - t0) * 160.0 - 1.0
    assert first_sample > 0 and abs(first_sample - round(first_sample)) < 0.05


def test_an_xdf_recording_scores_with_its_trial_markers(tmp_path: Path, motor_model: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    """An XDF (EEG + the project's trial markers, in millivolts): the CLI writes one row per
    window with the truth from the markers and prints the agreement line."""
    from models.eeg.markers import trial_marker
    from tests.helpers_xdf import eeg_stream, marker_stream, write_xdf

    data = np.random.default_rng(1).normal(0, 20.0, (len(MOTOR), 160 * 12))
    t0 = 500.0
    markers = marker_stream([t0 + 3.0, t0 + 7.0], [trial_marker(1, "start", "feet"),
                                                   trial_marker(1, "end", "feet")])
    path = write_xdf(tmp_path / "session.xdf", [eeg_stream(data, 160.0, t0, names=MOTOR,
                                                           unit="millivolts"), markers])
    out = tmp_path / "p.csv"
    assert main(["--model", str(motor_model), "--data", str(path), "--out", str(out),
                 "--hop", "0.5"]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) >= 15 and {r["truth"] for r in rows} == {"", "feet"}
    assert all(r["predicted"] in CLASSES for r in rows)
    assert "windows inside labelled trials" in capsys.readouterr().out
