"""Channel-label matching: one canonical spelling for every way amplifiers name an electrode.

Every comparison of channel names in the project (channel mapping, regions, head maps,
topomaps, electrode positions) goes through :func:`normalize_label`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["ALIASES", "label_index", "normalize_label", "rows_of"]

ALIASES: dict[str, str] = {"T3": "T7", "T4": "T8", "T5": "P7", "T6": "P8"}
"""Old 10-20 names and their 10-10 equivalents."""

_REF_SUFFIXES = frozenset(
    {"REF", "LE", "RE", "AR", "AV", "AVG", "AVERAGE", "A1", "A2", "M1", "M2", "A1A2", "M1M2",
     "LM", "RM", "CAR"}
)  # fmt: skip
_PREFIX = re.compile(r"^EEG[\s_:\-.]+")
_NOT_ALNUM = re.compile(r"[^0-9A-Z]")


def normalize_label(name: str) -> str:
    """Canonical form of a channel label.

    Upper case; a leading ``EEG`` tag (``"EEG Fp1"``) and a reference suffix (``"-REF"``,
    ``"-A1"``, ``"-M2"``, ``"-LE"``, ``"-AVG"``, ...) are removed; then every character other
    than A-Z and 0-9 is dropped; old 10-20 names become 10-10 names (T3->T7, T4->T8, T5->P7,
    T6->P8). Examples: ``"Fc5."`` -> ``"FC5"``, ``"EEG Fp1-REF"`` -> ``"FP1"``, ``"T3"`` ->
    ``"T7"``. A bipolar label such as ``"Fp1-F7"`` keeps both parts (``"FP1F7"``) and so matches
    no electrode.
    """
    s = str(name).strip().upper()
    s = _PREFIX.sub("", s)
    if "-" in s:
        head, tail = s.rsplit("-", 1)
        if _NOT_ALNUM.sub("", tail) in _REF_SUFFIXES and _NOT_ALNUM.sub("", head):
            s = head
    s = _NOT_ALNUM.sub("", s)
    return ALIASES.get(s, s)


def label_index(names: Sequence[str]) -> dict[str, int]:
    """Normalised label -> row of its first occurrence in ``names``."""
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        index.setdefault(normalize_label(name), i)
    return index


def rows_of(names: Sequence[str], wanted: Sequence[str]) -> list[int]:
    """Rows of ``names`` holding the channels ``wanted`` (any spelling), in ``wanted`` order.

    Channels of ``wanted`` that ``names`` lacks are skipped. Example: ``rows_of(["Fp1", "Cz"],
    ["FP1", "FP2"])`` -> ``[0]``.
    """
    index = label_index(names)
    return [index[k] for k in (normalize_label(w) for w in wanted) if k in index]
