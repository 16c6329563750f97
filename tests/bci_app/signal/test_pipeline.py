"""The live signal path: units, channel map, resampling, filters, NaN handling, ring."""

from __future__ import annotations

import numpy as np
import pytest

from bci_app.signal.pipeline import LivePipeline
from bci_app.signal.ring import SampleRing
from bci_app.signal.units import unit_factor
from models.eeg.seed_layout import SEED_CHANNELS
from models.preprocessing import FilterSpec


def test_unit_factors() -> None:
    assert unit_factor("microvolts") == 1.0
    assert unit_factor("uV") == 1.0
    assert unit_factor("V") == 1e6
    assert unit_factor("millivolts") == 1e3
    assert unit_factor("-6") == pytest.approx(1.0)
    assert unit_factor("0") == pytest.approx(1e6)
    assert unit_factor("furlongs") is None
    assert unit_factor(None) is None


def _pipeline(labels: list[str], sfreq: float, units: list[str] | None = None) -> LivePipeline:
    return LivePipeline(labels, units, sfreq, list(SEED_CHANNELS), 200.0, FilterSpec())


@pytest.mark.parametrize("sfreq", [1000.0, 256.0, 200.0, 160.0])
def test_chunked_equals_one_shot(sfreq: float) -> None:
    rng = np.random.default_rng(0)
    labels = [*list(SEED_CHANNELS)[::-1], "HEOG", "TRIG"]
    n = int(3 * sfreq)
    x = rng.normal(0, 20, (n, len(labels)))
    ts = 100.0 + np.arange(n) / sfreq
    first = _pipeline(labels, sfreq).process(x, ts)
    one, t_one = first.samples, first.times
    p = _pipeline(labels, sfreq)
    parts, times = [], []
    start = 0
    while start < n:
        size = int(rng.integers(0, 40))
        out = p.process(x[start:start + size], ts[start:start + size])
        parts.append(out.samples)
        times.append(out.times)
        start += size
    np.testing.assert_allclose(np.concatenate(parts), one, atol=1e-9)
    np.testing.assert_allclose(np.concatenate(times), t_one, atol=1e-9)
    assert one.shape[1] == 62
    assert abs(one.shape[0] - 3 * 200) <= 1


def test_channels_land_in_model_order_and_units_convert() -> None:
    labels = ["Fp1", "EOG", *[c for c in SEED_CHANNELS if c != "FP1"]]
    units = ["volts"] * len(labels)
    p = LivePipeline(labels, units, 200.0, list(SEED_CHANNELS), 200.0,
                     FilterSpec(None, None, None))
    x = np.zeros((400, len(labels)))
    x[:, 0] = 50e-6  # 50 uV on Fp1, in volts
    y = p.process(x, np.arange(400) / 200).samples
    np.testing.assert_allclose(y[:, 0], 50.0)
    assert np.abs(y[:, 1:]).max() == 0


def test_nan_samples_are_held_and_flagged() -> None:
    p = _pipeline(list(SEED_CHANNELS), 200.0)
    x = np.random.default_rng(1).normal(0, 10, (1000, 62))
    x[500:505, 3] = np.nan
    x[700, :] = np.inf
    ts = np.arange(1000) / 200
    out = p.process(x, ts)
    y, bad = out.samples, out.bad
    assert np.isfinite(y).all()  # the filter state never sees NaN
    assert bad[500:506].all() and bad[700] and not bad[:500].any()
    assert not bad[900:].any()  # flags end once the spoilt samples left the resampler
    assert out.flags[500:506, 3].all() and not out.flags[500:506, 4].any()  # per channel
    assert out.flags[700].all()
    out2 = p.process(x[:100], ts[:100] + 10)
    assert np.isfinite(out2.samples).all() and not out2.bad.any()


def test_ring_windows_and_overwrite() -> None:
    ring = SampleRing(10, 2)
    data = np.arange(14 * 2, dtype=np.float32).reshape(14, 2)
    ring.append(data[:6], np.arange(6.0), np.zeros(6, bool))
    ring.append(data[6:], np.arange(6.0, 14.0), np.zeros((8, 2), np.uint8), raw=data[6:] + 1)
    w = ring.window(14, 4)
    np.testing.assert_array_equal(w.data, data[10:14].T)
    np.testing.assert_array_equal(w.raw, data[10:14].T + 1)
    np.testing.assert_array_equal(w.times, np.arange(10.0, 14.0))
    assert w.flags.shape == (2, 4) and not w.flags.any()
    with pytest.raises(IndexError):
        ring.window(14, 11)
    ring.clear()
    assert ring.window(14, 3).flags.all()


def test_segment_start_is_the_first_sample_since_reset() -> None:
    """What a session log records so that sicleer-predict can restart the chain there."""
    p = LivePipeline(["C3", "C4"], None, 200.0, ["C3", "C4"], 200.0)
    assert p.segment_start is None
    assert p.warmup_samples == int(np.ceil(p.warmup_seconds * 200.0))
    p.process(np.zeros((0, 2)), np.zeros(0))
    assert p.segment_start is None  # an empty chunk starts nothing
    p.process(np.zeros((4, 2)), 10.0 + np.arange(4) / 200.0)
    p.process(np.zeros((4, 2)), 10.02 + np.arange(4) / 200.0)
    assert p.segment_start == 10.0
    p.reset()
    assert p.segment_start is None
    p.process(np.zeros((4, 2)), 50.0 + np.arange(4) / 200.0)
    assert p.segment_start == 50.0
