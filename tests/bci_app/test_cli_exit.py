"""Every way of stopping ``bci-app`` as a user (or systemd, ``timeout``, a closed terminal)
does it: the same orderly shutdown, a summary that agrees with the log, the prediction outlet
withdrawn, and the exit code of the documented scheme (models.exit_codes)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models.eeg.seed_layout import SEED_CHANNELS
from models.exit_codes import ExitCode, interrupted_code
from tests.helpers import LSL_API_CFG, Pusher, outlet_listed, pylsl_outlet, read_log, wait_for

pytestmark = pytest.mark.lsl

ENV = {**os.environ, "LSLAPICFG": str(LSL_API_CFG),
       "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}  # make test-xcb: xcb
NAMES = list(SEED_CHANNELS)


def _eeg(idx: np.ndarray) -> np.ndarray:
    return np.random.default_rng(int(idx[0])).normal(0, 10, (idx.size, 62))


def _app(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bci_app.cli", *args], env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _session_args(name: str, model: Path, tmp_path: Path) -> list[str]:
    return ["--stream", name, "--model", str(model), "--log", str(tmp_path / "log.csv"),
            "--summary", str(tmp_path / "summary.json"), "--outlet-name", f"{name}-pred",
            "--device", "cpu", "--no-markers"]


def _stop_with(app: subprocess.Popen, signum: int, log: Path) -> tuple[str, str]:
    """Wait until the app has logged a few windows, send ``signum``, collect its output."""
    try:
        assert wait_for(lambda: log.exists() and len(read_log(log)) >= 3, 90), \
            app.stderr.read() if app.poll() is not None else "no rows in time"
        app.send_signal(signum)
        return app.communicate(timeout=40)
    finally:
        if app.poll() is None:
            app.kill()
            app.communicate()


def _check_outputs(tmp_path: Path, name: str) -> None:
    rows = read_log(tmp_path / "log.csv")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["windows_predicted"] == len(rows) >= 3
    assert not outlet_listed(f"{name}-pred")  # the prediction outlet was withdrawn


@pytest.mark.parametrize("signum", [
    signal.SIGTERM, signal.SIGHUP,
    pytest.param(signal.SIGINT, marks=pytest.mark.slow),  # the same handler as the others
], ids=["SIGTERM", "SIGHUP", "SIGINT"])
def test_every_stop_signal_runs_the_orderly_shutdown(signum: int, tiny_model: Path,
                                                     tmp_path: Path, unique_name: str) -> None:
    outlet = pylsl_outlet(unique_name, NAMES, 200.0)
    with Pusher(outlet, 200.0, _eeg, chunk=5):
        app = _app(["--headless", *_session_args(unique_name, tiny_model, tmp_path)])
        _, err = _stop_with(app, signum, tmp_path / "log.csv")
    del outlet
    assert app.returncode == interrupted_code(signum), err
    assert "Traceback" not in err and f"{signal.Signals(signum).name}: stopping" in err
    _check_outputs(tmp_path, unique_name)


def test_ctrl_c_during_start_up_prints_one_line(tiny_model: Path) -> None:
    app = _app(["--headless", "--stream", "no-such-stream", "--model", str(tiny_model),
                "--resolve-timeout", "30"])
    try:
        for line in app.stderr:  # the first log line: torch and the model are being loaded
            if "starting: model" in line:
                break
        app.send_signal(signal.SIGINT)
        _, err = app.communicate(timeout=30)
    finally:
        if app.poll() is None:
            app.kill()
            app.communicate()
    assert app.returncode == 130
    assert [ln for ln in err.splitlines() if ln.strip()] == [
        "bci-app: interrupted by SIGINT during start-up; nothing was recorded"]


def test_a_signal_that_is_never_usable_ends_with_the_stream_exit_code(
        tiny_model: Path, tmp_path: Path, unique_name: str) -> None:
    outlet = pylsl_outlet(unique_name, NAMES, 200.0)
    with Pusher(outlet, 200.0, lambda idx: np.full((idx.size, 62), np.nan), chunk=5):
        app = _app(["--headless", *_session_args(unique_name, tiny_model, tmp_path),
                    "--duration", "4"])
        _, err = app.communicate(timeout=90)
    del outlet
    assert app.returncode == ExitCode.STREAM == 4, err
    assert "no window was predicted" in err and "NaN/Inf samples on 62" in err
    assert "Traceback" not in err
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["windows_predicted"] == 0 and summary["nan_windows"] > 0
    assert read_log(tmp_path / "log.csv") == []


def test_a_synthetic_model_is_said_at_the_start(tiny_model: Path, unique_name: str) -> None:
    """The first line says that the model's predictions mean nothing on real EEG."""
    app = subprocess.run([sys.executable, "-m", "bci_app.cli", "--headless", "--model",
                          str(tiny_model), "--stream", unique_name, "--resolve-timeout", "1"],
                         capture_output=True, text=True, env=ENV, timeout=60)
    assert app.returncode == 4, app.stderr  # ExitCode.STREAM: no such stream
    assert "trained on SYNTHETIC data" in app.stderr
    assert app.stderr.index("SYNTHETIC") < app.stderr.index("looking for the EEG stream")


@pytest.mark.gui
def test_ctrl_c_closes_the_window_as_ctrl_q_does(tiny_model: Path, tmp_path: Path,
                                                 unique_name: str) -> None:
    """SIGINT to the window's process (Ctrl-C in its terminal) closes the window in order:
    exit 130, one line, no traceback, the summary written (beside the log by default) and
    the outlet withdrawn; the terminal gets the session's 'done:' line, as headless."""
    outlet = pylsl_outlet(unique_name, NAMES, 200.0)
    args = _session_args(unique_name, tiny_model, tmp_path)
    del args[args.index("--summary"):args.index("--summary") + 2]  # the default: beside the log
    with Pusher(outlet, 200.0, _eeg, chunk=5):
        app = _app(args)  # the window, offscreen
        out, err = _stop_with(app, signal.SIGINT, tmp_path / "log.csv")
    del outlet
    assert app.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert "SIGINT: closing the window" in err
    (tmp_path / "log.json").rename(tmp_path / "summary.json")
    _check_outputs(tmp_path, unique_name)
    done = [ln for ln in out.splitlines() if ln.startswith("done: ")]  # as headless ends
    assert len(done) == 1 and done[0].endswith(f"summary: {tmp_path / 'log.json'}")


def test_an_orderly_stop_prints_none_of_liblsls_own_lines(tiny_model: Path, tmp_path: Path,
                                                         unique_name: str) -> None:
    """liblsl's INFO lines (configuration, build) and the ERR line of a connection that an
    orderly stop closes go through the ``liblsl`` logger, below its WARNING level: the
    terminal shows the app's lines only."""
    outlet = pylsl_outlet(unique_name, NAMES, 200.0)
    with Pusher(outlet, 200.0, _eeg, chunk=5):
        app = _app(["--headless", *_session_args(unique_name, tiny_model, tmp_path)])
        out, err = _stop_with(app, signal.SIGTERM, tmp_path / "log.csv")
    del outlet
    assert app.returncode == interrupted_code(signal.SIGTERM), err
    raw = [ln for ln in (out + err).splitlines() if re.search(r"\b(INFO|WARN|ERR|FATL)\|", ln)]
    assert raw == [], raw
    assert "liblsl" not in err, err
    _check_outputs(tmp_path, unique_name)
