"""Tests of the engine's per-window features: band power, regions, asymmetry, smoothing."""

from __future__ import annotations

import numpy as np
import pytest

from bci_app.engine.features import ProbabilitySmoother, WindowFeatures, band_log_power, band_power
from models.eeg.bands import BAND_NAMES, BANDS


def test_band_log_power_alpha_sinusoid() -> None:
    sfreq = 200.0
    t = np.arange(200) / sfreq
    amp = 20.0
    w = np.vstack([amp * np.sin(2 * np.pi * 10 * t), np.zeros_like(t)])
    lp = band_log_power(w, sfreq)
    assert lp.shape == (2, len(BANDS))
    alpha = BAND_NAMES.index("alpha")
    assert np.argmax(lp[0]) == alpha
    assert lp[0, alpha] == pytest.approx(np.log10(amp**2 / 2), abs=0.02)
    assert np.all(lp[1] == -20.0)  # flat channel floored, not -inf


def test_band_power_white_noise_matches_variance() -> None:
    rng = np.random.default_rng(0)
    sfreq, n = 200.0, 200
    w = 10 * rng.standard_normal((500, n))
    total = band_power(w, sfreq).sum(axis=1).mean()
    # Bands cover 1-50 Hz of 0-100 Hz: 49 % of white noise variance.
    assert total == pytest.approx(100 * 49 / 100, rel=0.05)


def test_band_power_short_window_error() -> None:
    with pytest.raises(ValueError, match="no frequency bin"):
        band_log_power(np.zeros((2, 40)), 200.0)


def _alpha_window(names: list[str], amps: list[float]) -> np.ndarray:
    """(len(names), 400) 10-Hz sinusoids of the given amplitudes (uV) at 200 Hz, plus noise."""
    t = np.arange(400) / 200.0
    rng = np.random.default_rng(1)
    a = np.asarray(amps)[:, None]
    return a * np.sin(2 * np.pi * 10 * t) + 0.1 * rng.standard_normal((len(names), 400))


def test_region_power_and_asymmetry() -> None:
    names = ["Fp1", "F3", "F4", "T7", "EOG"]
    w = _alpha_window(names, [5.0, 10.0, 20.0, 2.0, 1.0])
    lp = band_log_power(w, 200.0)
    feats = WindowFeatures(names, 200.0)(w)
    np.testing.assert_allclose(feats.topo, lp)
    # "Fp1" is matched to the region's FP1 (the engine once compared exact names)
    np.testing.assert_allclose(feats.band_power["frontal"], lp[:3].mean(axis=0))
    np.testing.assert_allclose(feats.band_power["temporal"], lp[3])
    # More alpha on the right (F4) -> positive asymmetry = ln(power ratio) = 2 ln(20/10).
    assert feats.faa == pytest.approx(2 * np.log(2.0), abs=0.02)
    swapped = WindowFeatures(names, 200.0)(w[[0, 2, 1, 3, 4]])
    assert swapped.faa < 0


def test_features_without_region_channels_are_nan() -> None:
    names = ["O1", "O2", "PZ"]
    feats = WindowFeatures(names, 200.0)(_alpha_window(names, [1.0, 2.0, 3.0]))
    assert np.isnan(feats.band_power["frontal"]).all()
    assert np.isnan(feats.band_power["temporal"]).all()
    assert np.isnan(feats.faa)


def test_smoother_time_constant_and_reset() -> None:
    hop, tau = 0.25, 2.0
    smooth = ProbabilitySmoother(tau, hop)
    first = smooth(np.array([1.0, 0.0, 0.0]))
    np.testing.assert_array_equal(first, [1.0, 0.0, 0.0])  # the first window passes through
    a = 1 - np.exp(-hop / tau)
    np.testing.assert_allclose(smooth(np.array([0.0, 1.0, 0.0])), [1 - a, a, 0.0])
    smooth.reset()
    np.testing.assert_array_equal(smooth(np.array([0.0, 0.0, 1.0])), [0.0, 0.0, 1.0])
    passthrough = ProbabilitySmoother(0.0, hop)
    passthrough(np.array([1.0, 0.0]))
    np.testing.assert_array_equal(passthrough(np.array([0.2, 0.8])), [0.2, 0.8])
