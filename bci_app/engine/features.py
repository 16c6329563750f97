"""What the engine computes for each window besides the prediction: probability smoothing,
band power per channel and region, and frontal alpha asymmetry.

Power per band comes from a Hann-windowed periodogram of the mean-removed window: ``PSD(f)``
in uV^2/Hz (one-sided), summed over the frequency bins ``lo <= f < hi`` and multiplied by the
bin width, so a band power is in uV^2 (the variance of the signal in that band). Windows are
``(n_channels, n_samples)`` in microvolts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from models.eeg.bands import BAND_NAMES, BANDS
from models.eeg.labels import rows_of
from models.eeg.regions import FAA_PAIR, region_rows

__all__ = ["Features", "ProbabilitySmoother", "WindowFeatures", "band_log_power", "band_power"]

_FLOOR = 1e-20  # uV^2; log10 of a flat channel gives -20 rather than -inf
_ALPHA = BAND_NAMES.index("alpha")


@lru_cache(maxsize=32)
def _band_operator(n_samples: int, sfreq: float,
                   bands: tuple[tuple[float, float], ...]) -> tuple[np.ndarray, np.ndarray]:
    """Hann taper (T,) and matrix (F, n_bands) turning |rfft|^2 into band power in uV^2."""
    taper = np.hanning(n_samples + 2)[1:-1]  # no zero end points
    freqs = np.fft.rfftfreq(n_samples, 1.0 / sfreq)
    df = sfreq / n_samples
    # One-sided PSD scaling: 2 / (sfreq * sum(w^2)) except DC and Nyquist bins.
    scale = np.full(len(freqs), 2.0 / (sfreq * np.sum(taper**2)))
    scale[0] /= 2
    if n_samples % 2 == 0:
        scale[-1] /= 2
    op = np.zeros((len(freqs), len(bands)))
    for j, (lo, hi) in enumerate(bands):
        sel = (freqs >= lo) & (freqs < hi)
        if not sel.any():
            raise ValueError(
                f"band {lo:g}-{hi:g} Hz holds no frequency bin for a window of {n_samples} "
                f"samples at {sfreq:g} Hz (bin width {df:g} Hz, Nyquist {sfreq / 2:g} Hz); "
                "use a longer window or a higher rate"
            )
        op[sel, j] = scale[sel] * df
    taper.setflags(write=False)
    op.setflags(write=False)
    return taper, op


def band_power(window: np.ndarray, sfreq: float) -> np.ndarray:
    """Power per channel and band in uV^2.

    Args:
        window: (n_channels, n_samples) EEG in microvolts.
        sfreq: sampling rate in Hz.

    Returns:
        (n_channels, 5) power in uV^2 in the bands of :data:`models.eeg.bands.BANDS`, in order.
    """
    x = np.asarray(window, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < 2:
        raise ValueError(f"window must have shape (n_channels, n_samples >= 2), got {x.shape}")
    if not sfreq > 0:
        raise ValueError(f"sfreq must be positive, got {sfreq!r}")
    taper, op = _band_operator(x.shape[1], float(sfreq), tuple(BANDS.values()))
    x = (x - x.mean(axis=1, keepdims=True)) * taper
    spec = np.fft.rfft(x, axis=1)
    return (spec.real**2 + spec.imag**2) @ op


def band_log_power(window: np.ndarray, sfreq: float) -> np.ndarray:
    """log10 of the power per channel and band, see :func:`band_power`.

    Args:
        window: (n_channels, n_samples) EEG in microvolts (e.g. 62 x 200 at 200 Hz).
        sfreq: sampling rate in Hz.

    Returns:
        (n_channels, 5) ``log10(power / 1 uV^2)``, floored at -20, bands in order.
    """
    return np.log10(np.maximum(band_power(window, sfreq), _FLOOR))


@dataclass(frozen=True)
class Features:
    """Band-power features of one window.

    Attributes:
        topo: (n_channels, 5) log10 band power (uV^2) of every channel.
        band_power: region -> (5,) mean log10 power over the region's channels (NaN when the
            model has none of them).
        faa: frontal alpha asymmetry ``ln alpha(F4) - ln alpha(F3)`` (NaN without F3 / F4).
    """

    topo: np.ndarray
    band_power: dict[str, np.ndarray]
    faa: float


class WindowFeatures:
    """Computes :class:`Features` for windows whose rows are ``channel_names``.

    Regions and the F3 / F4 pair are matched with
    :func:`models.eeg.labels.normalize_label`, so ``Fp1`` or ``EEG F3`` count as well.

    Sign of the asymmetry: alpha power is inversely related to cortical activity, so a
    positive value (more alpha over the right, F4) means relatively more left-frontal
    activity, usually read as approach motivation / positive affect.

    Args:
        channel_names: the window's row names (the model's channels).
        sfreq: sampling rate in Hz.
    """

    def __init__(self, channel_names: Sequence[str], sfreq: float) -> None:
        self.sfreq = float(sfreq)
        self.regions = region_rows(channel_names)
        pair = rows_of(channel_names, FAA_PAIR)
        self.faa_rows: tuple[int, int] | None = (pair[0], pair[1]) if len(pair) == 2 else None

    def __call__(self, window: np.ndarray) -> Features:
        """Features of one (n_channels, n_samples) window in microvolts."""
        topo = band_log_power(window, self.sfreq)
        power = {region: topo[rows].mean(0) if rows else np.full(len(BAND_NAMES), np.nan)
                 for region, rows in self.regions.items()}
        faa = float("nan")
        if self.faa_rows is not None:
            left, right = self.faa_rows
            faa = math.log(10) * float(topo[right, _ALPHA] - topo[left, _ALPHA])
        return Features(topo, power, faa)


class ProbabilitySmoother:
    """Exponential smoothing of class probabilities with time constant ``tau`` seconds.

    ``tau = 0`` passes probabilities through. :meth:`reset` (after a gap) restarts from the
    next window.

    Args:
        tau: time constant in seconds (>= 0).
        hop: seconds between two windows.
    """

    def __init__(self, tau: float, hop: float) -> None:
        self.weight = 1.0 - math.exp(-hop / tau) if tau > 0 else 1.0
        self._state: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the history."""
        self._state = None

    def __call__(self, probs: np.ndarray) -> np.ndarray:
        """Smoothed (n_classes,) probabilities after this window (a new array)."""
        if self._state is None:
            self._state = probs.copy()
        else:
            a = self.weight
            self._state = a * probs + (1 - a) * self._state
        return self._state.copy()
