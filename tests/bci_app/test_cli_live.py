"""The live commands as a user runs them: bci-replay into bci-app --headless, errors."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import LSL_API_CFG

ENV = {**os.environ, "LSLAPICFG": str(LSL_API_CFG), "QT_QPA_PLATFORM": "offscreen"}


def _run(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True,
                          timeout=timeout, env=ENV)


@pytest.mark.lsl
@pytest.mark.slow
def test_replay_into_headless_app(seed_session_file: Path, tiny_model: Path, tmp_path: Path,
                                  unique_name: str) -> None:
    replay = subprocess.Popen([sys.executable, "-m", "bci_app.replay",
                               str(seed_session_file), "--name", unique_name, "--loop"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        listed = _run(["bci_app.cli", "--list-streams", "--resolve-timeout", "2"])
        assert unique_name in listed.stdout and f"{unique_name}-markers" in listed.stdout
        log, summary = tmp_path / "log.csv", tmp_path / "summary.json"
        app = _run(["bci_app.cli", "--headless", "--stream", unique_name, "--model",
                    str(tiny_model), "--duration", "6", "--log", str(log), "--summary",
                    str(summary), "--outlet-name", f"{unique_name}-out", "--device", "cpu"])
    finally:
        replay.terminate()
        replay.wait(10)
    assert app.returncode == 0, app.stderr
    lines = [ln for ln in app.stdout.splitlines() if ln.startswith("[")]
    running = [ln for ln in lines if "running" in ln and "latency" in ln]
    assert len(lines) >= 4 and running  # the last line may already say "stopped"
    rows = list(csv.DictReader(log.open()))
    times = np.array([float(r["lsl_time"]) for r in rows])
    assert len(rows) >= 15
    assert np.median(np.diff(times)) == pytest.approx(0.25, abs=0.01)
    assert any(r["truth"] in ("negative", "neutral", "positive") for r in rows)
    data = json.loads(summary.read_text())
    assert data["windows_predicted"] == len(rows)
    assert data["latency_ms"]["p95"] > 0


def test_app_refuses_a_bad_model_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a model")
    app = _run(["bci_app.cli", "--headless", "--model", str(bad), "--duration", "1"])
    assert app.returncode == 3  # models.exit_codes.ExitCode.BAD_INPUT
    assert "bad.safetensors" in app.stderr and "Traceback" not in app.stderr


def test_app_rejects_bad_options() -> None:
    app = _run(["bci_app.cli", "--headless", "--hop", "0"])
    assert app.returncode == 2 and "hop" in app.stderr


def test_replay_refuses_a_missing_file(tmp_path: Path) -> None:
    r = _run(["bci_app.replay", str(tmp_path / "nope.mat")])
    assert r.returncode == 3 and "nope.mat" in r.stderr and "Traceback" not in r.stderr


def test_filter_options_are_left_to_the_model_unless_given() -> None:
    from bci_app.cli import build_parser, config_from_args, short_names
    from bci_app.engine.config import FROM_MODEL

    parser = build_parser()
    config = config_from_args(parser.parse_args([]))
    assert config.l_freq is config.h_freq is config.notch is config.filter_order is FROM_MODEL
    config = config_from_args(parser.parse_args(["--l-freq", "off", "--h-freq", "40",
                                                 "--notch", "60", "--filter-order", "2"]))
    assert (config.l_freq, config.h_freq, config.notch, config.filter_order) == (None, 40.0,
                                                                                 60.0, 2)
    assert sorted(config.filter_overrides()) == ["filter_order", "h_freq", "l_freq", "notch"]
    assert short_names(["negative", "neutral", "positive"]) == ["neg", "neu", "pos"]
    assert short_names(["left hand", "left foot", "feet"]) == ["left h", "left f", "feet"]


def test_app_refuses_filter_options_the_models_chain_cannot_take(motor_model_file: Path
                                                                 ) -> None:
    """--h-freq 5 on a model trained with an 8 Hz high-pass: a usage error naming both."""
    app = _run(["bci_app.cli", "--headless", "--model", str(motor_model_file), "--h-freq", "5",
                "--device", "cpu", "--duration", "1"])
    assert app.returncode == 2, app.stderr
    assert "8 Hz" in app.stderr and "5 Hz" in app.stderr and "--h-freq" in app.stderr
    assert "Traceback" not in app.stderr
