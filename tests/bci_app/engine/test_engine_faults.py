"""Hostile but realistic input into the live engine, from real pylsl outlets: stalls, clock
jumps, jittery timestamps, impossible amplitudes. Each test checks what the user sees (state,
message, warning) and that the session log, the summary and the prediction outlet agree, with
no NaN probability leaving the app."""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path

import numpy as np
import pytest

from bci_app.engine.config import EngineConfig
from bci_app.engine.engine import Engine
from bci_app.engine.state import EngineState
from models.eeg.seed_layout import SEED_CHANNELS
from tests.helpers import OutletRecorder, Pusher, pylsl_outlet, read_log, wait_for

pytestmark = pytest.mark.lsl

NAMES = list(SEED_CHANNELS)
SFREQ = 200.0


def _eeg(idx: np.ndarray) -> np.ndarray:
    """(n, 62) EEG-like noise, microvolts (seeded by the first sample index)."""
    return np.random.default_rng(int(idx[0])).normal(0, 10, (idx.size, 62))


def _config(model: Path, name: str, tmp_path: Path, **kw: object) -> EngineConfig:
    base = dict(model=model, stream=name, device="cpu", log=tmp_path / "session.csv",
                summary=tmp_path / "summary.json", outlet_name=f"{name}-pred",
                resolve_timeout=5.0, lost_after=0.5, markers=False)
    return EngineConfig(**(base | kw))


def _outputs(tmp_path: Path) -> tuple[list[dict[str, str]], dict]:
    """The session log's rows and the summary, checked to agree with each other."""
    rows = read_log(tmp_path / "session.csv")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert len(rows) == summary["windows_predicted"]
    for row in rows:
        probs = [float(row[f"p_{c}"]) for c in ("negative", "neutral", "positive")]
        assert np.isfinite(probs).all() and abs(sum(probs) - 1) < 1e-4, row
    return rows, summary


def test_a_stalled_stream_is_stalled_not_reconnected_and_its_gap_is_counted(
        tiny_model: Path, tmp_path: Path, unique_name: str) -> None:
    outlet = pylsl_outlet(unique_name, NAMES, SFREQ)
    engine = Engine(_config(tiny_model, unique_name, tmp_path))
    with Pusher(outlet, SFREQ, _eeg, chunk=5) as pusher:
        engine.start()
        try:
            assert wait_for(lambda: engine.status().stats.windows_predicted >= 3, 20)
            pusher.pause(3.0)  # the outlet stays open and sends nothing for 3 s
            assert wait_for(lambda: engine.status().state == EngineState.STALLED, 5)
            first = engine.status().message
            assert "still on the network" in first and re.search(r"for \d+\.\d s", first)
            time.sleep(0.4)
            assert engine.status().message != first  # the seconds since the last sample
            assert engine.status().stats.reconnects == 0
            before = engine.status().stats.windows_predicted
            assert wait_for(lambda: engine.status().state == EngineState.RUNNING
                            and engine.status().stats.windows_predicted > before + 2, 20)
        finally:
            engine.stop()
    del outlet
    _, summary = _outputs(tmp_path)
    assert summary["reconnects"] == 0 and summary["stalls"] == 1
    assert 540 <= summary["samples_lost"] <= 640  # 3 s at 200 Hz, counted from timestamps


def test_clock_jumps_are_reanchored_warned_and_kept_out_of_the_latencies(
        tiny_model: Path, tmp_path: Path, unique_name: str,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bci_app.engine")
    outlet = pylsl_outlet(unique_name, NAMES, SFREQ)
    engine = Engine(_config(tiny_model, unique_name, tmp_path))
    warnings = set()
    with Pusher(outlet, SFREQ, _eeg, chunk=5) as pusher:
        engine.start()
        try:
            assert wait_for(lambda: engine.status().stats.windows_predicted >= 4, 20)
            for offset, jumps in ((1000.0, 1), (995.0, 2)):  # +1000 s, then back 5 s
                pusher.offset = offset
                assert wait_for(lambda j=jumps: engine.status().stats.clock_jumps == j, 5)
                warnings.add(engine.status().warning)
                n = engine.status().stats.windows_predicted
                assert wait_for(lambda n=n: engine.status().stats.windows_predicted >= n + 8, 10)
            assert engine.status().state == EngineState.RUNNING
        finally:
            engine.stop()
    del outlet
    assert any("jumped +1e+03 s" in w for w in warnings)
    assert any("jumped -5 s" in w for w in warnings)
    assert len([r for r in caplog.records if "jumped" in r.getMessage()]) == 2  # once each
    rows, summary = _outputs(tmp_path)
    assert summary["clock_jumps"] == 2 and summary["samples_lost"] <= 5
    assert summary["untimed_windows"] >= 2
    latency = summary["latency_ms"]
    assert all(0 < latency[k] < 500 for k in ("p50", "p95", "p99", "max")), latency
    untimed = [r for r in rows if r["latency_ms"] == ""]
    assert len(untimed) == summary["untimed_windows"]
    times = np.array([float(r["lsl_time"]) for r in rows])
    assert np.all(np.diff(times) > 0) and times[-1] - times[0] < 60  # one timeline


def test_push_time_jitter_is_not_counted_as_lost_samples(tiny_model: Path, tmp_path: Path,
                                                         unique_name: str) -> None:
    outlet = pylsl_outlet(unique_name, NAMES, SFREQ)
    engine = Engine(_config(tiny_model, unique_name, tmp_path))
    # each chunk stamped up to 0.35 periods early or late: steps of 0.3 to 1.7 periods
    with Pusher(outlet, SFREQ, _eeg, chunk=5, jitter=0.35 / SFREQ):
        engine.start()
        try:
            assert wait_for(lambda: engine.status().stats.windows_predicted >= 10, 20)
        finally:
            engine.stop()
    del outlet
    _, summary = _outputs(tmp_path)
    assert summary["samples_lost"] == 0 and summary["clock_jumps"] == 0


@pytest.mark.parametrize("case, fmt, expected", [
    ("volts labelled microvolts", "float32", "too small"),
    ("1e9 microvolts", "float32", "values beyond ±1 V"),
    ("all NaN", "float32", "NaN/Inf samples"),
    ("float32 3e38", "float32", "values beyond ±1 V"),
    ("float64 1e300", "double64", "values beyond ±1 V"),
])
def test_impossible_amplitudes_stop_predictions_with_a_clear_state(
        case: str, fmt: str, expected: str, tiny_model: Path, tmp_path: Path,
        unique_name: str) -> None:
    def signal(idx: np.ndarray) -> np.ndarray:
        x = _eeg(idx)
        if case == "volts labelled microvolts":
            return x * 1e-6
        if case == "1e9 microvolts":
            return x * 1e8
        if case == "all NaN":
            return np.full_like(x, np.nan)
        return np.full_like(x, 3e38 if fmt == "float32" else 1e300)

    outlet = pylsl_outlet(unique_name, NAMES, SFREQ, fmt=fmt)
    engine = Engine(_config(tiny_model, unique_name, tmp_path))
    dtype = np.float64 if fmt == "double64" else np.float32
    with Pusher(outlet, SFREQ, signal, chunk=5, dtype=dtype):
        engine.start()
        try:
            assert wait_for(lambda: engine.status().state == EngineState.BAD_SIGNAL, 20)
            with OutletRecorder(f"{unique_name}-pred") as recorder:
                time.sleep(1.0)
            st = engine.status()
        finally:
            engine.stop()
    del outlet
    assert expected in st.message and "62 of 62" in st.message and "paused" in st.message
    assert recorder.samples == []
    rows, summary = _outputs(tmp_path)
    assert rows == [] and summary["windows_predicted"] == 0
    refused = summary["bad_signal_windows"] if expected == "too small" else summary["nan_windows"]
    assert refused >= 3
    assert summary["final_state"] == "bad signal" and expected in summary["final_message"]


def test_a_few_bad_channels_are_interpolated_and_nothing_non_finite_leaves(
        tiny_model: Path, tmp_path: Path, unique_name: str) -> None:
    rows_of = {name: NAMES.index(name) for name in ("FP1", "T7", "O1")}

    def signal(idx: np.ndarray) -> np.ndarray:
        x = _eeg(idx).astype(np.float32)
        x[:, rows_of["FP1"]] *= 1e-6  # in volts
        x[:, rows_of["T7"]] = 0.0  # unplugged
        x[:, rows_of["O1"]] = 3e38  # garbage
        x[(idx % 600) < 40] = np.nan  # every 3 s, 0.2 s of NaN on every channel
        return x

    outlet = pylsl_outlet(unique_name, NAMES, SFREQ)
    engine = Engine(_config(tiny_model, unique_name, tmp_path))
    with Pusher(outlet, SFREQ, signal, chunk=5):
        engine.start()
        try:
            assert wait_for(lambda: engine.status().stats.windows_predicted >= 2, 20)
            with OutletRecorder(f"{unique_name}-pred") as recorder:
                assert wait_for(lambda: engine.status().stats.nan_windows >= 2
                                and engine.status().stats.windows_predicted >= 16, 20)
                assert wait_for(lambda: engine.status().state == EngineState.RUNNING, 5)
                st = engine.status()
        finally:
            engine.stop()
    del outlet
    problems = dict(st.bad_channels)
    assert set(problems) == {"FP1", "T7", "O1"} and problems["T7"] == "flat"
    assert problems["FP1"].startswith("too small") and "volts sent as" in problems["FP1"]
    assert problems["O1"].startswith("values beyond ±1 V")
    assert "interpolating bad channels" in st.warning and "T7 (flat)" in st.warning
    rows, summary = _outputs(tmp_path)
    assert {"FP1", "T7", "O1"} <= set(summary["bad_channels"])
    assert all(set(r["bad_channels"].split()) >= {"FP1", "T7", "O1"} for r in rows[3:])
    assert summary["nan_windows"] >= 2  # the NaN bursts hit every channel
    times = np.array([float(r["lsl_time"]) for r in rows])
    assert recorder.samples
    for probs, stamp in recorder.samples:  # what LabRecorder would have recorded
        assert np.isfinite(probs).all()
        nearest = int(np.argmin(np.abs(times - stamp)))
        assert abs(times[nearest] - stamp) < 1e-3  # the same window (clock sync: < 1 ms)
        row = rows[nearest]
        np.testing.assert_allclose(probs, [float(row[f"p_{c}"]) for c in
                                           ("negative", "neutral", "positive")], atol=1e-6)
