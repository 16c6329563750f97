"""Band power of short EEG windows (log10 of uV^2) and frontal alpha asymmetry.

Power per band is computed from a Hann-windowed periodogram of the mean-removed window:
``PSD(f)`` in uV^2/Hz (one-sided), summed over the frequency bins ``lo <= f < hi`` and
multiplied by the bin width, so a band power is in uV^2 (the variance of the signal in that
band). Windows are ``(n_channels, n_samples)`` in microvolts.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from ..channels import normalize_label

__all__ = [
    "BANDS",
    "BAND_NAMES",
    "band_log_power",
    "frontal_alpha_asymmetry",
    "region_band_power",
]

BANDS: dict[str, tuple[float, float]] = {
    "delta": (1.0, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 14.0),
    "beta": (14.0, 31.0),
    "gamma": (31.0, 50.0),
}
"""EEG bands in Hz, ``lo <= f < hi``."""

BAND_NAMES: tuple[str, ...] = tuple(BANDS)

_FLOOR = 1e-20  # uV^2; log10 of a flat channel gives -20 rather than -inf


@lru_cache(maxsize=32)
def _band_operator(n_samples: int, sfreq: float, bands: tuple[tuple[float, float], ...]):
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

    Parameters
    ----------
    window : array, shape (n_channels, n_samples)
        EEG in microvolts.
    sfreq : float
        Sampling rate in Hz.

    Returns
    -------
    array, shape (n_channels, 5)
        Power in uV^2 in the bands of :data:`BANDS`, in that order.
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
    """log10 of the power per channel and band (uV^2), see :func:`band_power`.

    Parameters
    ----------
    window : array, shape (n_channels, n_samples)
        EEG in microvolts (e.g. 62 x 200 at 200 Hz).
    sfreq : float
        Sampling rate in Hz.

    Returns
    -------
    array, shape (n_channels, 5)
        ``log10(power / 1 uV^2)``, floored at -20, bands in :data:`BANDS` order.
    """
    return np.log10(np.maximum(band_power(window, sfreq), _FLOOR))


def _channel_rows(channel_names: Sequence[str], wanted: Sequence[str]) -> list[int]:
    index = {normalize_label(n): i for i, n in enumerate(channel_names)}
    return [index[k] for k in (normalize_label(w) for w in wanted) if k in index]


def region_band_power(
    window: np.ndarray, sfreq: float, channel_names: Sequence[str], region: Sequence[str]
) -> np.ndarray:
    """Mean over a region's channels of the log10 band power.

    Parameters
    ----------
    window : array, shape (n_channels, n_samples)
        EEG in microvolts.
    sfreq : float
        Sampling rate in Hz.
    channel_names : sequence of str, length n_channels
        Names of the window's rows (matched after :func:`bci_app.channels.normalize_label`).
    region : sequence of str
        Channel names of the region (e.g. ``offline_training.seed.FRONTAL``); the ones missing
        from ``channel_names`` are skipped.

    Returns
    -------
    array, shape (5,)
        Mean of ``log10(power / uV^2)`` over the region's channels present, per band.
    """
    if len(channel_names) != np.shape(window)[0]:
        raise ValueError(
            f"{len(channel_names)} channel names for a window of {np.shape(window)[0]} rows"
        )
    rows = _channel_rows(channel_names, region)
    if not rows:
        raise ValueError(
            f"none of the region's channels {list(region)} is among {list(channel_names)}"
        )
    return band_log_power(np.asarray(window)[rows], sfreq).mean(axis=0)


def frontal_alpha_asymmetry(
    window: np.ndarray,
    sfreq: float,
    channel_names: Sequence[str],
    left: str = "F3",
    right: str = "F4",
) -> float:
    """Frontal alpha asymmetry ``ln(alpha power right) - ln(alpha power left)``.

    Sign convention: alpha power is inversely related to cortical activity, so a positive value
    (relatively more alpha over the right, ``F4``) means relatively more LEFT-frontal activity,
    usually read as approach motivation / positive affect; a negative value means relatively
    more right-frontal activity (withdrawal).

    Parameters
    ----------
    window : array, shape (n_channels, n_samples)
        EEG in microvolts.
    sfreq : float
        Sampling rate in Hz.
    channel_names : sequence of str, length n_channels
    left, right : str
        Homologous channel pair (default F3 / F4).

    Returns
    -------
    float
        Natural-log ratio of alpha (8-14 Hz) power, dimensionless.
    """
    if len(channel_names) != np.shape(window)[0]:
        raise ValueError(
            f"{len(channel_names)} channel names for a window of {np.shape(window)[0]} rows"
        )
    rows = _channel_rows(channel_names, [left, right])
    if len(rows) != 2:
        raise ValueError(f"frontal alpha asymmetry needs {left} and {right} in {channel_names}")
    alpha = BAND_NAMES.index("alpha")
    logp = band_log_power(np.asarray(window)[rows], sfreq)[:, alpha]
    return float((logp[1] - logp[0]) * np.log(10.0))
