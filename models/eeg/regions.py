"""Scalp regions shown by the app and marked in the trainer's figures.

Region members are SEED (10-10) names; a model's own spelling of them (``Fp1``, ``EEG F3``) is
matched with :func:`models.eeg.labels.normalize_label` through :func:`region_rows`.
"""

from __future__ import annotations

from collections.abc import Sequence

from models.eeg.labels import rows_of

__all__ = ["FAA_PAIR", "FRONTAL", "REGIONS", "TEMPORAL", "region_of", "region_rows"]

FRONTAL: tuple[str, ...] = (
    "FP1", "FPZ", "FP2", "AF3", "AF4", "F7", "F5", "F3", "F1", "FZ", "F2", "F4", "F6", "F8",
)  # fmt: skip
"""Frontal region: prefrontal and frontal rows."""

TEMPORAL: tuple[str, ...] = ("FT7", "FT8", "T7", "T8", "TP7", "TP8")
"""Lateral temporal region (both hemispheres)."""

REGIONS: dict[str, tuple[str, ...]] = {"frontal": FRONTAL, "temporal": TEMPORAL}
"""Region name -> member channels, in display order."""

FAA_PAIR: tuple[str, str] = ("F3", "F4")
"""(left, right) channels of frontal alpha asymmetry, ln alpha(right) - ln alpha(left)."""


def region_rows(channel_names: Sequence[str]) -> dict[str, list[int]]:
    """Region name -> rows of ``channel_names`` that belong to it (possibly empty)."""
    return {region: rows_of(channel_names, members) for region, members in REGIONS.items()}


def region_of(channel_names: Sequence[str]) -> list[str]:
    """For each channel, ``"frontal"``, ``"temporal"`` or ``"other"``."""
    out = ["other"] * len(channel_names)
    for region, rows in region_rows(channel_names).items():
        for r in rows:
            out[r] = region
    return out
