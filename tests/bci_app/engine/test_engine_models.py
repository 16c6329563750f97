"""The engine follows the model file: its filter chain, its classes and its channels."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import numpy as np
import pytest

from bci_app.engine.config import FROM_MODEL, EngineConfig
from bci_app.engine.engine import Engine
from bci_app.engine.state import EngineState
from models.preprocessing import FilterSpec
from tests.bci_app.model_files import (
    CAP32_CHANNELS,
    EMOTION4_CLASSES,
    MOTOR_CHANNELS,
    MOTOR_CLASSES,
    MOTOR_FILTERS,
    tones,
)
from tests.helpers import Pusher, pylsl_outlet, read_log, wait_for


def _engine(model: Path, caplog: pytest.LogCaptureFixture | None = None,
            **options: object) -> Engine:
    """An engine on ``model`` that is built but never started (no LSL)."""
    if caplog is not None:
        caplog.set_level(logging.INFO, logger="bci_app.engine")
    return Engine(EngineConfig(model=model, device="cpu", **options))


def test_the_chain_comes_from_the_model_file(motor_model_file: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    engine = _engine(motor_model_file, caplog)
    assert engine.filters == MOTOR_FILTERS == FilterSpec(8.0, 30.0, None, 4)
    assert engine.filter_choice.declared == MOTOR_FILTERS and not engine.filter_choice.differs
    assert engine.status().warning == ""
    assert "filters from the model file: 8-30 Hz band-pass (order 4), no notch" in caplog.text
    # an option equal to the model's setting changes nothing, so nothing to warn about
    assert _engine(motor_model_file, l_freq=8.0).status().warning == ""


def test_an_override_warns_with_both_chains(motor_model_file: Path,
                                            caplog: pytest.LogCaptureFixture) -> None:
    engine = _engine(motor_model_file, caplog, l_freq=4.0, notch=50.0)
    assert engine.filters == FilterSpec(4.0, 30.0, 50.0, 4)  # the rest stays the model's
    warning = engine.status().warning
    assert "trained with 8-30 Hz band-pass (order 4), no notch" in warning
    assert "running with 4-30 Hz band-pass (order 4), 50 Hz notch" in warning
    assert "--l-freq" in warning and "--notch" in warning
    assert any(r.levelno == logging.WARNING and "differ" in r.message for r in caplog.records)
    assert engine.summary()["filters"]["model"]["l_freq"] == 8.0
    assert engine.summary()["filters"]["used"]["l_freq"] == 4.0


def test_a_model_without_a_chain_runs_the_live_defaults(emotion4_model_file: Path,
                                                        caplog: pytest.LogCaptureFixture
                                                        ) -> None:
    engine = _engine(emotion4_model_file, caplog)
    assert engine.filters == FilterSpec()  # 0.5-75 Hz, 50 Hz notch, order 4: as before
    assert engine.status().warning == ""  # said in the log, not in the status line
    assert "declares no filter chain" in caplog.text
    assert "0.5-75 Hz band-pass (order 4), 50 Hz notch" in caplog.text
    # options still apply, and there is no chain of the model's for them to contradict
    overridden = _engine(emotion4_model_file, notch=60.0, filter_order=2)
    assert overridden.filters == FilterSpec(notch=60.0, order=2)
    assert overridden.status().warning == ""


def test_options_the_chain_cannot_take_are_refused_before_start(motor_model_file: Path
                                                                ) -> None:
    with pytest.raises(ValueError, match=r"8 Hz.*below.*5 Hz.*--h-freq"):
        _engine(motor_model_file, h_freq=5.0)  # below the model's 8 Hz high-pass
    with pytest.raises(ValueError, match="Nyquist"):
        _engine(motor_model_file, l_freq=150.0, h_freq=None)  # the model runs at 200 Hz
    with pytest.raises(ValueError, match="filter_order"):
        EngineConfig(filter_order=0)
    config = EngineConfig()
    assert config.l_freq is config.h_freq is config.notch is config.filter_order is FROM_MODEL
    assert dataclasses.replace(config, l_freq=None).resolve_filters(MOTOR_FILTERS).spec == \
        FilterSpec(None, 30.0, None, 4)  # off is an override too: a low-pass only
    # compared as built at the model's rate: at 128 Hz a 75 Hz edge is 57.6 Hz either way
    at_128 = dataclasses.replace(config, h_freq=75.0).resolve_filters(
        FilterSpec(0.5, 57.6, 50.0), sfreq=128.0)
    assert at_128.spec == FilterSpec(0.5, 57.6, 50.0) and not at_128.differs


def _outlet_labels(name: str) -> list[str]:
    """Channel labels of the prediction outlet ``name``, read by an independent pylsl inlet
    (closed before the engine withdraws the outlet)."""
    import pylsl

    infos = pylsl.resolve_byprop("name", name, 1, 5.0)
    assert infos, f"outlet {name!r} not found"
    inlet = pylsl.StreamInlet(infos[0], recover=False)
    try:
        info = inlet.info(timeout=5.0)
        labels, ch = [], info.desc().child("channels").child("channel")
        while not ch.empty():
            labels.append(ch.child_value("label"))
            ch = ch.next_sibling()
        assert info.channel_count() == len(labels)
        return labels
    finally:
        inlet.close_stream()
        del inlet


def _amplitude(data: np.ndarray, sfreq: float, freq: float) -> float:
    """Median over channels of the amplitude (uV) of ``freq`` in (C, n) data (on a bin)."""
    spec = np.abs(np.fft.rfft(data - data.mean(axis=1, keepdims=True), axis=1))
    k = round(freq * data.shape[1] / sfreq)
    return float(np.median(2 * spec[:, k] / data.shape[1]))


@pytest.mark.lsl
@pytest.mark.parametrize("kind", ["motor", "emotion4"])
def test_engine_follows_the_model(kind: str, motor_model_file: Path,
                                  emotion4_model_file: Path, tmp_path: Path,
                                  unique_name: str) -> None:
    """Two classes on 16 channels without F3/F4 (8-30 Hz chain), or four classes on 32
    channels (no chain: the live default): the outlet, the log, the summary and the features
    take the model's classes and channels, and the signal gets the model's chain."""
    model, classes, channels = {
        "motor": (motor_model_file, MOTOR_CLASSES, MOTOR_CHANNELS),
        "emotion4": (emotion4_model_file, EMOTION4_CLASSES, CAP32_CHANNELS)}[kind]
    k = len(classes)
    sfreq = 200.0
    outlet = pylsl_outlet(unique_name, channels, sfreq)
    config = EngineConfig(model=model, stream=unique_name, device="cpu", markers=False,
                          outlet_name=f"{unique_name}-pred", log=tmp_path / "log.csv",
                          summary=tmp_path / "summary.json")
    with Pusher(outlet, sfreq, tones(sfreq, len(channels)), chunk=10):
        engine = Engine(config)
        engine.start()
        try:
            assert wait_for(lambda: engine.status().stats.windows_predicted >= 6, 20), \
                engine.status()
            labels = _outlet_labels(f"{unique_name}-pred")
            data, _ = engine.recent_samples(2.0)
            st = engine.status()
        finally:
            engine.stop()
    del outlet
    assert st.state == EngineState.RUNNING and st.link.n_matched == len(channels)
    assert labels == classes  # one outlet channel per class, named by class

    # the model's chain filtered the signal: 3, 15 and 60 Hz tones went in at 20 uV each
    amp = {f: _amplitude(data, sfreq, f) for f in (3.0, 15.0, 60.0)}
    assert amp[15.0] == pytest.approx(20, rel=0.1)
    if kind == "motor":  # 8-30 Hz band-pass: only 15 Hz is left
        assert amp[3.0] < 1.0 and amp[60.0] < 1.0, amp
    else:  # 0.5-75 Hz band-pass with a 50 Hz notch: all three pass
        assert amp[3.0] == pytest.approx(20, rel=0.1) and amp[60.0] > 17, amp

    rows = read_log(tmp_path / "log.csv")
    header = list(rows[0])
    assert [c for c in header if c.startswith("p_") and not c.endswith("_smooth")] == \
        [f"p_{c}" for c in classes]
    assert [c for c in header if c.endswith("_smooth")] == [f"p_{c}_smooth" for c in classes]
    assert {r["predicted"] for r in rows} <= set(classes)
    results = engine.drain_results()
    assert all(r.probs.shape == (k,) and r.smoothed.shape == (k,) for r in results)
    last = results[-1]
    assert last.topo.shape == (len(channels), 5)
    assert np.isfinite(last.band_power["temporal"]).all()  # T7/T8 in both
    if kind == "motor":  # no frontal channel, no F3/F4: NaN, never an exception
        assert np.isnan(last.band_power["frontal"]).all() and np.isnan(last.faa)
        assert rows[-1]["faa"] == "nan" and rows[-1]["frontal_alpha"] == "nan"
    else:
        assert np.isfinite(last.band_power["frontal"]).all() and np.isfinite(last.faa)

    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["class_names"] == classes and summary["model"]["classes"] == classes
    assert np.array(summary["confusion"]).shape == (k, k)
    assert summary["windows_predicted"] == len(rows)
    expected = FilterSpec(8.0, 30.0, None, 4) if kind == "motor" else FilterSpec()
    assert FilterSpec.from_dict(summary["filters"]["used"]) == expected
    assert summary["filters"]["warning"] == ""
