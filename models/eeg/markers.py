"""How a session's trials are announced: the project's marker and stream conventions.

Both sides use them: the live app (LSL streams, :mod:`bci_app.lsl`) and the readers of
recorded sessions (XDF files written by LabRecorder, :mod:`offline_training.recordings`).

- EEG streams have type ``"EEG"``.
- Markers travel on a string stream of type ``"Markers"`` whose name and source id are the EEG
  stream's with ``"-markers"`` appended.
- Trials are announced as ``"trial N start <label>"`` at their first sample and
  ``"trial N end <label>"`` at their last one (the label is left out when unknown).

Standard library only: importing this module loads neither numpy nor torch.
"""

from __future__ import annotations

import re

__all__ = [
    "EEG_TYPE",
    "MARKER_SUFFIX",
    "MARKER_TYPE",
    "STRING_DTYPE",
    "TRIAL_MARKER",
    "marker_name",
    "marker_source_id",
    "trial_marker",
]

EEG_TYPE = "EEG"
"""Type of EEG streams (compared case-insensitively when looking for one)."""
MARKER_TYPE = "Markers"
"""Type of marker streams."""
MARKER_SUFFIX = "-markers"
"""Appended to the EEG stream's name and source id to name its marker stream."""
STRING_DTYPE = "string"
"""LSL channel format of marker streams."""

TRIAL_MARKER = re.compile(r"\s*trial\s+(\d+)\s+(start|end)(?:\s+(\S+))?\s*", re.IGNORECASE)
"""Pattern of a trial marker: groups (trial number, ``start`` | ``end``, label or None)."""


def marker_name(eeg_name: str) -> str:
    """Name of the marker stream that goes with the EEG stream ``eeg_name``."""
    return f"{eeg_name}{MARKER_SUFFIX}"


def marker_source_id(eeg_source_id: str) -> str:
    """Source id of the marker stream that goes with an EEG stream's source id."""
    return f"{eeg_source_id}{MARKER_SUFFIX}"


def trial_marker(number: int, kind: str, label: str | None = None) -> str:
    """``"trial 3 start negative"``: the marker at a trial's first (``start``) or last (``end``)
    sample; without ``label`` the class word is left out."""
    if kind not in ("start", "end"):
        raise ValueError(f"trial marker kind must be 'start' or 'end', got {kind!r}")
    return f"trial {int(number)} {kind}" + (f" {label}" if label else "")
