"""What EEG can be: invalid samples kept out of the filters, per-channel level checks, bad
channels held and interpolated."""

from __future__ import annotations

import numpy as np
import pytest

from bci_app.signal.channel_map import ChannelMappingError, ChannelRepair, build_channel_map
from bci_app.signal.pipeline import LivePipeline
from bci_app.signal.quality import (
    HOLD_SECONDS,
    NON_FINITE,
    OUT_OF_RANGE,
    Problem,
    QualityTracker,
    assess_window,
    invalid_flags,
)
from models.eeg.seed_layout import SEED_CHANNELS
from models.preprocessing import FilterSpec

NAMES = list(SEED_CHANNELS)
RNG = np.random.default_rng(0)


def _eeg(n: int, sfreq: float = 200.0, scale: float = 10.0) -> np.ndarray:
    """(n, 62) EEG-like noise plus an alpha rhythm, microvolts."""
    t = np.arange(n) / sfreq
    return RNG.normal(0, scale, (n, 62)) + 8 * np.sin(2 * np.pi * 10 * t)[:, None]


def test_invalid_flags_cover_nan_inf_and_values_no_amplifier_gives() -> None:
    x = np.zeros((4, 3))
    x[0, 0], x[1, 1], x[2, 2], x[3, 0] = np.nan, -np.inf, 3e38, 2e6
    flags = invalid_flags(x)
    assert flags[0, 0] == NON_FINITE and flags[1, 1] == NON_FINITE
    assert flags[2, 2] == OUT_OF_RANGE and flags[3, 0] == OUT_OF_RANGE
    assert np.count_nonzero(flags) == 4


@pytest.mark.parametrize("dtype, huge", [(np.float32, 3e38), (np.float64, 1e300)])
def test_huge_finite_values_never_reach_the_filters_or_the_ring(dtype: type,
                                                               huge: float) -> None:
    """float32 3e38 and float64 1e300 are finite, but overflow the float32 cast and the
    filters: they are held out like NaN, and every output they could touch is flagged."""
    p = LivePipeline(NAMES, None, 200.0, NAMES, 200.0, FilterSpec())
    x = _eeg(2000).astype(dtype)
    x[800:805, 7] = huge  # one channel, five samples
    x[1200, :] = huge  # every channel, one sample
    out = p.process(x, np.arange(2000) / 200.0)
    assert np.isfinite(out.samples).all() and np.isfinite(out.samples.astype(np.float32)).all()
    assert out.flags[800:805, 7].all() and not out.flags[800:805, 8].any()
    assert out.flags[1200].all() and not out.flags[:800].any()
    assert np.abs(out.samples[1400:]).max() < 200  # the filter state is unharmed afterwards


def _window(x: np.ndarray, sfreq: float = 200.0) -> tuple[np.ndarray, np.ndarray]:
    """(raw, filtered) (C, T) of the last second after the live filters."""
    p = LivePipeline(NAMES, None, sfreq, NAMES, 200.0, FilterSpec())
    out = p.process(x, np.arange(len(x)) / sfreq)
    return out.raw[-200:].T, out.samples[-200:].T


def test_level_checks_name_each_kind_of_bad_channel() -> None:
    x = _eeg(1200)
    x[:, 0] = 123.0  # FP1: a constant (unplugged, or held at a rail)
    x[:, 1] *= 1e-6  # FPZ: volts sent as microvolts
    x[:, 2] *= 400.0  # FP2: thousands of microvolts
    t = np.arange(1200) / 200.0
    x[:, 3] = np.clip(300 * np.sin(2 * np.pi * 3 * t), -150, 150)  # AF3: clipped at +-150 uV
    raw, filtered = _window(x)
    flags = np.zeros(raw.shape, np.uint8)
    flags[5, 10:20] = NON_FINITE  # F7: ten NaN samples
    found = assess_window(raw, filtered, flags, range(62))
    assert {NAMES[r]: p.problem for r, p in found.items()} == {
        "FP1": Problem.FLAT, "FPZ": Problem.TOO_SMALL, "FP2": Problem.TOO_LARGE,
        "AF3": Problem.SATURATED, "F7": Problem.NON_FINITE}
    assert "volts sent as microvolts" in str(found[1])
    assert "10 of 200 samples" in str(found[5])
    assert assess_window(raw, filtered, flags, [10, 11]) == {}  # other channels are EEG


def test_real_eeg_channels_pass_the_checks() -> None:
    import mne

    from tests.helpers import shared_data

    raw = mne.io.read_raw_edf(shared_data("eegmmidb_S001", "S001R03.edf"), preload=True,
                              verbose="error")
    data = raw.get_data()[:, : 160 * 20].T * 1e6  # 20 s, microvolts
    labels = [c.strip(".").upper() for c in raw.ch_names]
    p = LivePipeline(labels, None, raw.info["sfreq"], NAMES, 200.0, FilterSpec())
    out = p.process(data, np.arange(len(data)) / raw.info["sfreq"])
    cmap = p.channel_map
    rows = [NAMES.index(m) for m in cmap.matched]
    for end in range(800, out.samples.shape[0], 200):
        win = slice(end - 200, end)
        found = assess_window(out.raw[win].T, out.samples[win].T, out.flags[win].T, rows)
        assert found == {}, {NAMES[r]: str(p) for r, p in found.items()}


def test_level_problems_are_held_invalid_samples_are_not() -> None:
    tracker = QualityTracker(NAMES, range(62))
    raw, filtered = _window(_eeg(1200))
    ok = np.zeros(raw.shape, np.uint8)
    flat = raw.copy(), filtered.copy()
    flat[1][4] = 0.0
    assert tracker.update(flat[0], flat[1], ok, 10.0)
    assert tracker.pairs() == ((NAMES[4], "flat"),)
    assert not tracker.update(raw, filtered, ok, 10.0 + HOLD_SECONDS - 0.1)  # still held
    assert tracker.update(raw, filtered, ok, 10.0 + HOLD_SECONDS + 0.1)
    assert tracker.current == {}
    nan = ok.copy()
    nan[7, :5] = NON_FINITE
    assert tracker.update(raw, filtered, nan, 20.0) and list(tracker.current) == [7]
    assert tracker.update(raw, filtered, ok, 20.25) and tracker.current == {}


def test_bad_channels_are_interpolated_like_missing_ones() -> None:
    cmap = build_channel_map([n for n in NAMES if n != "OZ"], NAMES)  # OZ missing
    repair = ChannelRepair(cmap)
    from models.eeg.montage import channel_positions

    pos = channel_positions(NAMES)
    field = (pos @ np.array([20.0, -10.0, 35.0]))[:, None] * np.ones((1, 50))  # smooth
    broken = field.copy()
    broken[NAMES.index("T7")] = 1e4  # a bad channel
    bad = frozenset({NAMES.index("T7")})
    fixed = repair.apply(broken.astype(np.float32), bad)
    for name in ("T7", "OZ"):
        row = NAMES.index(name)
        assert abs(fixed[row, 0] - field[row, 0]) < 0.5 * np.ptp(field[:, 0]) / 10, name
    others = [r for r in range(62) if NAMES[r] not in ("T7", "OZ")]
    np.testing.assert_array_equal(fixed[others], broken[others].astype(np.float32))
    with pytest.raises(ChannelMappingError, match="16 of 62 model channels are bad or missing"):
        repair.plan(frozenset(range(15)))
