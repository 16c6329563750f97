"""Readers that turn a lab's labelled EEG recording into continuous data plus labelled trials.

>>> labels = parse_label_map("T1=fists,T2=feet")
>>> rec = read_recording("S001R06.edf", labels)  # doctest: +SKIP
>>> rec.data.shape, rec.sfreq, len(rec.trials)  # doctest: +SKIP
((64, 20000), 160.0, 15)

Modules, by responsibility:

- :mod:`~offline_training.recordings.base`: :class:`Recording`, :class:`Trial`,
  :class:`RecordingError`, the supported endings.
- :mod:`~offline_training.recordings.labels`: label maps (``"T1=fists,/^stim_neg/=negative"``).
- :mod:`~offline_training.recordings.trials`: annotations / markers -> trials, the same rules
  for every format.
- :mod:`~offline_training.recordings.xdf`: XDF through pyxdf.
- :mod:`~offline_training.recordings.mne_files`: FIF, EDF, BDF, EEGLAB, BrainVision, Neuroscan
  ``.cnt`` (read through MNE; ``.cnt`` is not tested: no writer exists to make a test file).
- :mod:`~offline_training.recordings.bids`: BIDS datasets through mne-bids.
- :mod:`~offline_training.recordings.reader`: :func:`read_recording`, :func:`find_recordings`.

Conventions: data (n_channels, n_samples) float32 in microvolts; times in seconds from the
recording's first sample. Nothing here imports torch.
"""

from __future__ import annotations

from offline_training.recordings.base import RECORDING_SUFFIXES, Recording, RecordingError, Trial
from offline_training.recordings.labels import LabelMap, parse_label_map
from offline_training.recordings.reader import find_recordings, read_recording

__all__ = [
    "RECORDING_SUFFIXES",
    "LabelMap",
    "Recording",
    "RecordingError",
    "Trial",
    "find_recordings",
    "parse_label_map",
    "read_recording",
]
