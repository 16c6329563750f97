"""Stream units: the factors that turn each channel's values into microvolts."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

__all__ = ["unit_factor", "unit_factors"]

_UNIT_FACTORS = {  # multiply by this to get microvolts
    "microvolts": 1.0, "microvolt": 1.0, "uv": 1.0, "µv": 1.0, "μv": 1.0,
    "volts": 1e6, "volt": 1e6, "v": 1e6,
    "millivolts": 1e3, "millivolt": 1e3, "mv": 1e3,
    "nanovolts": 1e-3, "nanovolt": 1e-3, "nv": 1e-3,
}


def unit_factor(unit: str | None) -> float | None:
    """Factor turning values in ``unit`` into microvolts; None when the unit is unknown.

    Accepts names ("microvolts", "uV", "V", "mV", ...) and MNE's power-of-ten codes as
    strings ("-6" = microvolts, "0" = volts).
    """
    if unit is None:
        return None
    text = unit.strip().lower()
    if text in _UNIT_FACTORS:
        return _UNIT_FACTORS[text]
    if re.fullmatch(r"[+-]?\d+", text):
        return 10.0 ** (int(text) + 6)
    return None


def unit_factors(units: Sequence[str | None] | None, n_channels: int) -> tuple[np.ndarray, str]:
    """Per-channel factors to microvolts and a note for the log.

    Channels whose unit is missing or unknown are taken as microvolts (the LSL convention for
    EEG), and the note says so.
    """
    if not units:
        return np.ones(n_channels), "no unit metadata: samples taken as microvolts"
    factors = np.ones(n_channels)
    unknown = []
    for i, u in enumerate(units):
        f = unit_factor(u)
        if f is None:
            unknown.append(u)
        else:
            factors[i] = f
    kinds = sorted({str(u) for u in units})
    note = f"units {', '.join(kinds)}"
    if unknown:
        note += f" (unknown {sorted({str(u) for u in unknown})} taken as microvolts)"
    return factors, note
