"""The EEG frequency bands used for band power (live panels, session log, synthetic data)."""

from __future__ import annotations

__all__ = ["BANDS", "BAND_NAMES"]

BANDS: dict[str, tuple[float, float]] = {
    "delta": (1.0, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 14.0),
    "beta": (14.0, 31.0),
    "gamma": (31.0, 50.0),
}
"""Band name -> (low, high) edges in Hz, ``low <= f < high`` (SEED's DE bands, Zheng & Lu 2015)."""

BAND_NAMES: tuple[str, ...] = tuple(BANDS)
"""Band names in order: delta, theta, alpha, beta, gamma."""
