"""The project's LSL conventions, in one place: stream types, names, units and trial markers.

- EEG streams have type ``"EEG"``; the replay sends values in microvolts and says so in each
  channel's ``unit`` (``"microvolts"``).
- Markers travel on a string stream of type ``"Markers"`` whose name and source id are the EEG
  stream's with ``"-markers"`` appended. Trials are announced as ``"trial N start <label>"`` at
  their first sample and ``"trial N end <label>"`` at their last one (the label is left out when
  unknown).
- Predictions go out on a float32 stream of type ``"MentalState"``, one channel per class.
- A replayed file says so in its EEG stream's description: ``desc/replay/file`` (the file name)
  and ``desc/replay/t0`` (LSL seconds; sample ``i`` of the file's first pass is stamped
  ``t0 + (i + 1) / sfreq``), so that a session can be scored again offline on exactly the
  samples the app saw (``sicleer-predict --align-to``).

The stream-type and marker conventions are shared with the offline readers of recorded
sessions, so they live in :mod:`models.eeg.markers` and are re-exported here; the prediction
stream and the wire unit are the live app's own.
"""

from __future__ import annotations

from models.eeg.markers import (
    EEG_TYPE,
    MARKER_SUFFIX,
    MARKER_TYPE,
    STRING_DTYPE,
    TRIAL_MARKER,
    marker_name,
    marker_source_id,
    trial_marker,
)

__all__ = [
    "EEG_TYPE",
    "MARKER_SUFFIX",
    "MARKER_TYPE",
    "PREDICTION_TYPE",
    "REPLAY_DESC",
    "STRING_DTYPE",
    "TRIAL_MARKER",
    "WIRE_UNIT",
    "marker_name",
    "marker_source_id",
    "trial_marker",
]

PREDICTION_TYPE = "MentalState"
"""Type of the app's prediction stream."""
WIRE_UNIT = "microvolts"
"""Unit written in the stream description of every voltage channel the project sends."""
REPLAY_DESC = "replay"
"""Child of a replayed EEG stream's ``desc`` holding ``file`` and ``t0`` (see above)."""
