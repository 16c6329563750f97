"""The session's own copy of the raw calibration data (the app never reads an XDF that
LabRecorder is still writing).

The engine hands every chunk to :meth:`CalibrationBuffer.append` before its filters
(:data:`bci_app.engine.engine.RawSink`): the model's channels (mapped and interpolated exactly
as for prediction), resampled to the model rate, in microvolts. :func:`write_calibration_fif`
turns the buffer and the labelled trials into a FIF file that ``sicleer-train`` reads like any
recording, so the trainer applies the model file's causal chain to it, as it does offline.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["CalibrationBuffer", "LabelledTrial", "write_calibration_fif"]


@dataclass(frozen=True)
class LabelledTrial:
    """One finished trial with a class.

    Attributes:
        trial: its number in the marker stream (``trial N start <label>``).
        label: class name.
        start, end: LSL times of its first and last sample, s.
    """

    trial: int
    label: str
    start: float
    end: float


class CalibrationBuffer:
    """Raw samples of the model's channels at the model rate, appended as they arrive.

    Args:
        n_channels: the model's channel count.
        sfreq: the model rate, Hz.
        max_seconds: the oldest samples beyond this span are dropped (memory: 62 channels at
            200 Hz take 50 kB a second, 180 MB for the default hour).
    """

    def __init__(self, n_channels: int, sfreq: float, max_seconds: float = 3600.0) -> None:
        self.n_channels = int(n_channels)
        self.sfreq = float(sfreq)
        self.max_samples = int(max_seconds * sfreq)
        self._chunks: deque[tuple[np.ndarray, np.ndarray]] = deque()
        self._n = 0
        self._lock = threading.Lock()

    @property
    def n_samples(self) -> int:
        """Samples held."""
        with self._lock:
            return self._n

    @property
    def seconds(self) -> float:
        """Seconds of data held."""
        return self.n_samples / self.sfreq

    def append(self, raw: np.ndarray, times: np.ndarray) -> None:
        """Keep one chunk: ``raw`` (m, n_channels) microvolts, ``times`` (m,) LSL s."""
        if np.ndim(raw) != 2 or np.shape(raw)[1] != self.n_channels or len(times) != len(raw):
            return  # never raise in the acquisition thread; a wrong chunk is not kept
        data = np.array(raw, dtype=np.float32)  # one copy each, owned by the buffer
        stamps = np.array(times, dtype=np.float64)
        with self._lock:
            self._chunks.append((data, stamps))
            self._n += len(data)
            while self._n - len(self._chunks[0][0]) >= self.max_samples:
                self._n -= len(self._chunks.popleft()[0])

    def snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        """Everything held: data (n_channels, n) float32 microvolts, times (n,) LSL s."""
        with self._lock:
            chunks = list(self._chunks)
        if not chunks:
            return np.zeros((self.n_channels, 0), np.float32), np.zeros(0)
        data = np.concatenate([c[0] for c in chunks]).T
        times = np.concatenate([c[1] for c in chunks])
        return np.ascontiguousarray(data), times


def write_calibration_fif(path: Path, data: np.ndarray, times: np.ndarray,
                          channel_names: Sequence[str], sfreq: float,
                          trials: Sequence[LabelledTrial],
                          participant: str | None = None) -> Path:
    """Write the calibration data as a FIF recording with one annotation per trial.

    Trials are placed by sample (their start and end looked up in ``times``), so gaps in the
    stream do not shift them; trials outside the data are left out.

    Args:
        path: the ``.fif`` file (``*_raw.fif`` or ``*_eeg.fif`` keeps MNE quiet).
        data: (n_channels, n) microvolts.
        times: (n,) LSL seconds of the samples.
        channel_names: the model's channel names.
        sfreq: the model rate, Hz.
        trials: annotations: onset and duration from the trial's span, description its label.
        participant: written as the subject's ``his_id`` (``sicleer-train`` takes it as the
            subject).

    Returns:
        ``path``.

    Raises:
        ValueError: no trial lies inside the data.
    """
    import mne

    n = data.shape[1]
    onsets, durations, labels = [], [], []
    for trial in trials:
        first = int(np.searchsorted(times, trial.start, side="left"))
        last = int(np.searchsorted(times, trial.end, side="right"))
        if first >= n or last <= first:
            continue
        onsets.append(first / sfreq)
        durations.append((last - first) / sfreq)
        labels.append(trial.label)
    if not labels:
        raise ValueError(f"none of the {len(trials)} trials lies inside the {n / sfreq:.1f} s "
                         "of calibration data")
    info = mne.create_info(list(channel_names), sfreq, ch_types="eeg", verbose="error")
    if participant:
        info["subject_info"] = {"his_id": str(participant)}
    raw = mne.io.RawArray(data.astype(np.float64) * 1e-6, info, verbose="error")
    raw.set_annotations(mne.Annotations(onsets, durations, labels))
    raw.save(path, overwrite=True, verbose="error")
    return path
