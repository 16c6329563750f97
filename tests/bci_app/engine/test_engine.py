"""The headless live engine end to end: replay or pylsl outlet in, predictions out."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from bci_app.engine.config import EngineConfig
from bci_app.engine.engine import Engine
from bci_app.engine.state import EngineState
from bci_app.replay.player import Replay
from tests.helpers import Pusher, make_model_file, pylsl_outlet, shared_data, wait_for

pytestmark = pytest.mark.lsl


def _config(model: Path, name: str, tmp_path: Path, **kw: object) -> EngineConfig:
    base = dict(model=model, stream=name, device="cpu", log=tmp_path / "session.csv",
                summary=tmp_path / "summary.json", outlet_name=f"{name}-pred",
                resolve_timeout=5.0)
    return EngineConfig(**(base | kw))


def test_replay_into_engine_gives_log_truth_and_summary(seed_session_file: Path,
                                                         tiny_model: Path, tmp_path: Path,
                                                         unique_name: str) -> None:
    with Replay(seed_session_file, name=unique_name, source_id=unique_name, loop=True):
        engine = Engine(_config(tiny_model, unique_name, tmp_path, hop=0.25))
        engine.start()
        try:
            assert wait_for(lambda: engine.status().stats.windows_predicted >= 20, 20)
            st = engine.status()
            assert st.state == EngineState.RUNNING and st.markers
            assert st.session_s is not None and st.session_s > 0 and ":" in st.clock
            assert wait_for(lambda: engine.status().trial.startswith("trial "), 5)
            assert st.link.n_matched == 62 and st.link.n_interpolated == 0
            assert st.stats.latency_p95 is not None and st.stats.latency_p95 < 500
            recent, times = engine.recent_samples(2.0)
            assert recent.shape == (62, 400) and np.all(np.diff(times) > 0)
        finally:
            engine.stop()
    results = engine.drain_results()
    assert len(results) >= 20
    hops = np.diff([r.lsl_time for r in results])
    np.testing.assert_allclose(np.median(hops), 0.25, atol=0.006)
    assert all(abs(r.probs.sum() - 1) < 1e-5 and abs(r.smoothed.sum() - 1) < 1e-5
               for r in results)
    assert {r.truth for r in results} - {None}  # truths from the marker stream
    r = results[-1]
    assert set(r.band_power) == {"frontal", "temporal"} and r.topo.shape == (62, 5)
    rows = list(csv.DictReader((tmp_path / "session.csv").open()))
    assert len(rows) == len(results)
    for col in ("lsl_time", "p_negative", "p_neutral", "p_positive", "p_negative_smooth",
                "predicted", "truth", "latency_ms", "frontal_alpha", "temporal_gamma", "faa"):
        assert col in rows[0], col
    assert any(row["truth"] for row in rows)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["windows_predicted"] == len(results)
    for key in ("p50", "p95", "p99"):
        assert summary["latency_ms"][key] > 0 and summary["inference_ms"][key] > 0
    assert summary["online_accuracy"] is not None and summary["reconnects"] == 0
    assert summary["device"] == "cpu"


def test_real_edf_is_interpolated_and_resampled(tiny_model: Path, tmp_path: Path,
                                                unique_name: str) -> None:
    edf = shared_data("eegmmidb_S001", "S001R03.edf")
    with Replay(edf, name=unique_name, source_id=unique_name):
        engine = Engine(_config(tiny_model, unique_name, tmp_path))
        engine.start()
        try:
            assert wait_for(lambda: engine.status().stats.windows_predicted >= 8, 20)
            st = engine.status()
        finally:
            engine.stop()
    assert st.link.sfreq == 160 and st.link.n_stream_channels == 64
    assert st.link.n_interpolated == 4
    assert set(st.link.interpolated) == {"PO5", "PO6", "CB1", "CB2"}
    results = engine.drain_results()
    assert np.median(np.diff([r.lsl_time for r in results])) == pytest.approx(0.25, abs=0.01)
    # EDF samples reach the model in microvolts (tens of uV), not volts
    assert 1.0 < np.median(np.abs(engine.recent_samples(1.0)[0])) < 500


def test_independent_pylsl_outlet_1000hz_shuffled_with_extras(tiny_model: Path, tmp_path: Path,
                                                              unique_name: str) -> None:
    from offline_training.seed import SEED_CHANNELS

    rng = np.random.default_rng(0)
    labels = [*list(SEED_CHANNELS), "HEOG", "VEOG", "TRIGGER"]
    labels = [labels[i] for i in rng.permutation(len(labels))]
    sfreq = 1000.0
    col_fp1, col_o2 = labels.index("FP1"), labels.index("O2")

    def signal(idx: np.ndarray) -> np.ndarray:
        t = idx / sfreq
        # a little noise everywhere: flat channels would be flagged bad (and interpolated)
        x = np.random.default_rng(int(idx[0])).normal(0, 0.5, (idx.size, len(labels)))
        x[:, col_fp1] = 40 * np.sin(2 * np.pi * 10 * t)
        x[:, col_o2] = 20 * np.sin(2 * np.pi * 6 * t)
        x[:, labels.index("TRIGGER")] = 1e4 * (idx % 1000 == 0)
        return x

    outlet = pylsl_outlet(unique_name, labels, sfreq)
    with Pusher(outlet, sfreq, signal, chunk=25):
        engine = Engine(_config(tiny_model, unique_name, tmp_path, notch=None))
        engine.start()
        try:
            assert wait_for(lambda: engine.status().stats.windows_predicted >= 8, 20)
            data, times = engine.recent_samples(2.0)
        finally:
            engine.stop()
    del outlet
    st = engine.status()
    assert st.link.sfreq == 1000 and st.link.n_matched == 62 and st.link.n_interpolated == 0
    assert np.median(np.diff(times)) == pytest.approx(1 / 200, rel=1e-3)  # resampled to 200 Hz
    names = list(SEED_CHANNELS)
    amp = data.std(axis=1) * np.sqrt(2)
    assert amp[names.index("FP1")] == pytest.approx(40, rel=0.1)
    assert amp[names.index("O2")] == pytest.approx(20, rel=0.1)
    others = np.delete(amp, [names.index("FP1"), names.index("O2")])
    assert others.max() < 1.0  # nothing leaked from EOG or the trigger
    spec = np.abs(np.fft.rfft(data[names.index("FP1")]))
    assert np.fft.rfftfreq(data.shape[1], 1 / 200)[spec.argmax()] == pytest.approx(10, abs=0.5)


def test_nan_samples_skip_windows_without_crash(tiny_model: Path, tmp_path: Path,
                                                unique_name: str) -> None:
    from offline_training.seed import SEED_CHANNELS

    sfreq = 200.0

    def signal(idx: np.ndarray) -> np.ndarray:
        x = np.random.default_rng(int(idx[0])).normal(0, 10, (idx.size, 62))
        x[(idx // 200) % 4 == 3] = np.nan  # every 4th second is NaN
        return x

    outlet = pylsl_outlet(unique_name, list(SEED_CHANNELS), sfreq)
    with Pusher(outlet, sfreq, signal, chunk=5):
        engine = Engine(_config(tiny_model, unique_name, tmp_path))
        engine.start()
        try:
            assert wait_for(lambda: engine.status().stats.nan_windows >= 3
                            and engine.status().stats.windows_predicted >= 3, 20)
        finally:
            engine.stop()
    del outlet
    results = engine.drain_results()
    assert all(np.isfinite(r.probs).all() for r in results)
    assert engine.status().state == EngineState.STOPPED


def test_stream_lost_and_back(seed_session_file: Path, tiny_model: Path, tmp_path: Path,
                              unique_name: str) -> None:
    engine = Engine(_config(tiny_model, unique_name, tmp_path, lost_after=0.5))
    replay = Replay(seed_session_file, name=unique_name, source_id=unique_name, loop=True)
    replay.start()
    try:
        engine.start()
        assert wait_for(lambda: engine.status().stats.windows_predicted >= 3, 20)
        replay.stop()
        assert wait_for(lambda: engine.status().state == EngineState.LOST, 5)
        assert "no samples" in engine.status().message
        before = engine.status().stats.windows_predicted
        replay = Replay(seed_session_file, name=unique_name, source_id=unique_name, loop=True)
        replay.start()
        assert wait_for(lambda: engine.status().stats.windows_predicted > before + 2, 30)
        st = engine.status()
        assert st.state == EngineState.RUNNING and st.stats.reconnects == 1
    finally:
        engine.stop()
        replay.stop()


def _error_message(config: EngineConfig) -> str:
    """Run an engine that must end in the error state; returns its message."""
    engine = Engine(config)
    engine.start()
    try:
        assert wait_for(lambda: engine.status().state == EngineState.ERROR, 15)
    finally:
        engine.stop()
    return engine.status().message


@pytest.mark.parametrize("kind", ["irregular", "string"])
def test_non_eeg_streams_are_refused(kind: str, tiny_model: Path, tmp_path: Path,
                                     unique_name: str) -> None:
    import pylsl

    fmt = pylsl.cf_string if kind == "string" else pylsl.cf_float32
    rate = 0.0 if kind == "irregular" else 200.0
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(unique_name, "EEG", 62, rate, fmt, unique_name))
    message = _error_message(_config(tiny_model, unique_name, tmp_path, resolve_timeout=2.0))
    del outlet
    assert unique_name in message
    assert ("irregular" in message) if kind == "irregular" else ("string" in message)


def test_model_that_does_not_fit_the_stream(tmp_path: Path, unique_name: str) -> None:
    model = make_model_file(tmp_path / "odd.safetensors",
                            channels=[f"X{i}" for i in range(8)] + ["CZ"])
    outlet = pylsl_outlet(unique_name, ["CZ", "PZ", "OZ"], 200.0)
    message = _error_message(_config(model, unique_name, tmp_path))
    del outlet
    assert "X0" in message and "missing" in message.lower()


def test_missing_stream_is_an_error_listing_streams(tiny_model: Path, tmp_path: Path) -> None:
    engine = Engine(_config(tiny_model, "no-such-stream-xyz", tmp_path, resolve_timeout=1.0))
    engine.start()
    assert wait_for(lambda: not engine.running, 15)
    st = engine.status()
    assert st.state == EngineState.ERROR and "no-such-stream-xyz" in st.message
