"""What a reader returns: :class:`Recording` (continuous EEG) and its labelled :class:`Trial` s,
plus :class:`RecordingError`, the one error every reader raises (its message names the file)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "MNE_SUFFIXES",
    "RECORDING_SUFFIXES",
    "Event",
    "Recording",
    "RecordingError",
    "Signals",
    "Trial",
]

RECORDING_SUFFIXES: tuple[str, ...] = (".xdf", ".fif", ".edf", ".bdf", ".set", ".vhdr", ".cnt")
"""File name endings :func:`~offline_training.recordings.read_recording` reads (lower case)."""
MNE_SUFFIXES: tuple[str, ...] = tuple(s for s in RECORDING_SUFFIXES if s != ".xdf")
"""The endings read through MNE's readers (everything but XDF)."""


class RecordingError(ValueError):
    """A recording cannot be used: unknown format, unreadable file, no EEG, no (matching)
    labels, non-finite samples... The message always names the file and says what is wrong."""


@dataclass(frozen=True)
class Trial:
    """One labelled span of a recording."""

    onset: float
    """Start, in seconds from the recording's first sample (sample ``i`` is at ``i / sfreq``)."""
    duration: float
    """Length in seconds (> 0)."""
    label: str
    """Class name (after the label map, when one is given)."""
    description: str
    """The original annotation text or marker string that opened the trial."""

    @property
    def end(self) -> float:
        """``onset + duration`` (s)."""
        return self.onset + self.duration


@dataclass(frozen=True)
class Event:
    """An annotation or marker as read from a file, before trials are made of it."""

    onset: float
    """Seconds from the recording's first sample."""
    duration: float
    """Seconds; 0 for a marker or an instantaneous annotation."""
    description: str
    """Annotation text or marker string."""


@dataclass
class Signals:
    """What a format reader hands back before trials are made: EEG, events and metadata."""

    data: np.ndarray
    """EEG, shape (n_channels, n_samples), float32, microvolts."""
    sfreq: float
    """Sampling rate (Hz)."""
    ch_names: list[str]
    """EEG channel names, file order."""
    dropped: list[str]
    """Non-EEG channels left out."""
    events: list[Event]
    """Annotations / markers, onsets in seconds from the first sample."""
    subject: str | None = None
    """Subject named by the file's own metadata, when it names one."""
    notes: list[str] = field(default_factory=list)
    """Things the reader noticed (unknown units, rate checks...)."""


@dataclass
class Recording:
    """A lab's labelled EEG recording: continuous data plus its labelled trials."""

    path: Path
    """The file read."""
    data: np.ndarray
    """EEG, shape (n_channels, n_samples), float32, microvolts; every sample finite."""
    sfreq: float
    """Sampling rate (Hz); sample ``i`` is at ``i / sfreq`` seconds."""
    ch_names: list[str]
    """EEG channel names, in file order (one per row of ``data``)."""
    dropped: list[str]
    """Non-EEG channels left out (EOG, trigger, stim, misc...), in file order."""
    trials: list[Trial]
    """Labelled trials in time order (spans without a label are not included)."""
    subject: str
    """The caller's override, else from BIDS or the file's metadata, else the caller's default
    (``read_recording(default_subject=...)``), else the file stem."""
    session: str
    """A name for the recording as a session: BIDS ``ses``/``task``/``acq``/``run``, else the
    file stem."""
    descriptions: list[str]
    """Every distinct annotation description / marker string of the file, in order of first
    appearance."""
    notes: list[str] = field(default_factory=list)
    """Things worth telling the user that did not stop the reading (unknown units, markers
    left unpaired, trials clipped to the data...)."""

    @property
    def n_samples(self) -> int:
        """Number of samples per channel."""
        return int(self.data.shape[1])

    @property
    def duration(self) -> float:
        """Length of the data in seconds (``n_samples / sfreq``)."""
        return self.n_samples / self.sfreq

    @property
    def classes(self) -> tuple[str, ...]:
        """Distinct trial labels, in order of first appearance."""
        return tuple(dict.fromkeys(t.label for t in self.trials))
