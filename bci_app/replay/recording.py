"""Recordings to replay: a SEED session or any file MNE reads, as an MNE Raw plus markers.

For a SEED session file the trials are concatenated in order and marked at their first and last
sample (``"trial 3 start negative"`` ... ``"trial 3 end negative"``, the project's convention of
:mod:`bci_app.lsl.protocol`); for other files the annotations become markers (``"T1"``, and
``"T1 end"`` when the annotation has a duration).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import mne
import numpy as np

from bci_app.lsl.protocol import trial_marker
from offline_training.seed import (
    CLASS_NAMES,
    SEED_CHANNELS,
    SEED_SFREQ,
    SeedFormatError,
    find_label_file,
    read_labels,
    read_trials,
    trial_keys,
)

__all__ = ["Marker", "MarkerCallback", "ReplayError", "build_raw"]

_UV_TO_V = 1e-6


class ReplayError(ValueError):
    """A file cannot be replayed; the message names the file and the reason."""


@dataclass(frozen=True)
class Marker:
    """One event of the recording.

    Attributes:
        sample: index of the sample the event refers to, 0-based in the replayed Raw.
        text: the string pushed on the marker stream, e.g. ``"trial 3 start negative"``.
    """

    sample: int
    text: str


MarkerCallback = Callable[[Marker, float], None]
"""Signature of ``on_marker``: (marker, LSL timestamp in seconds) -> None."""


def build_raw(
    path: str | Path, trials: Sequence[int] | None = None
) -> tuple[mne.io.BaseRaw, list[Marker]]:
    """Load a recording as an MNE Raw (data in volts) plus its markers.

    Args:
        path: a SEED session ``.mat`` file or any file :func:`mne.io.read_raw` reads
            (.edf, .bdf, .fif, .set, .cnt, .vhdr, ...).
        trials: SEED only: 1-based trial numbers to concatenate (in that order); None = all.

    Returns:
        ``(raw, markers)``: raw with preloaded data of shape (n_channels, n_samples) in volts
        (MNE's convention); markers sorted by sample index.

    Raises:
        ReplayError: missing, unreadable or unsupported file, or ``trials`` given for a
            non-SEED file. The message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ReplayError(f"{path}: file not found")
    if path.suffix.lower() == ".mat":
        return _build_seed_raw(path, trials)
    if trials is not None:
        raise ReplayError(f"{path}: a trial selection only applies to SEED .mat files")
    return _build_mne_raw(path)


def _build_seed_raw(
    path: Path, trials: Sequence[int] | None
) -> tuple[mne.io.BaseRaw, list[Marker]]:
    """SEED session: trials concatenated in order (uV -> V); markers at each trial's edges."""
    try:
        numbers = list(trials) if trials is not None else _trial_numbers(path)
        arrays = read_trials(path, numbers, dtype=np.float64)
    except SeedFormatError as err:
        raise ReplayError(str(err)) from err
    lengths = [array.shape[1] for array in arrays]
    data = np.concatenate(arrays, axis=1)  # (62, sum(lengths)) uV
    del arrays
    data *= _UV_TO_V
    info = mne.create_info(list(SEED_CHANNELS), SEED_SFREQ, "eeg")
    raw = mne.io.RawArray(data, info, verbose="error")
    return raw, _trial_markers(numbers, lengths, _seed_labels(path))


def _trial_numbers(path: Path) -> list[int]:
    """1-based trial numbers of a session file, from its ``<prefix>_eeg<N>`` keys."""
    return [int(key.rsplit("_eeg", 1)[1]) for key in trial_keys(path)]


def _seed_labels(path: Path) -> np.ndarray | None:
    """Classes (15,) from the label.mat next to ``path`` or in its parent; None (warns) if none."""
    for folder in (path.parent, path.parent.parent):
        try:
            label_file = find_label_file(folder)
        except SeedFormatError:
            continue
        try:
            return read_labels(label_file)
        except SeedFormatError as err:
            warnings.warn(f"{err}; trial markers carry no label", RuntimeWarning, stacklevel=3)
            return None
    warnings.warn(
        f"no label.mat next to {path} or in its parent folder; trial markers carry no label",
        RuntimeWarning,
        stacklevel=3,
    )
    return None


def _trial_markers(
    numbers: Sequence[int], lengths: Sequence[int], labels: np.ndarray | None
) -> list[Marker]:
    """Markers ``trial N start [label]`` / ``trial N end [label]`` at each trial's first / last
    sample; ``lengths`` are the trials' sample counts in stream order."""
    markers: list[Marker] = []
    first = 0
    for number, length in zip(numbers, lengths, strict=True):
        label = None
        if labels is not None and 1 <= number <= len(labels):
            label = CLASS_NAMES[int(labels[number - 1])]
        markers.append(Marker(first, trial_marker(number, "start", label)))
        markers.append(Marker(first + length - 1, trial_marker(number, "end", label)))
        first += length
    return markers


def _build_mne_raw(path: Path) -> tuple[mne.io.BaseRaw, list[Marker]]:
    """Any file MNE reads; markers from its annotations. An EDF/BDF file shorter than its
    header says warns (``RuntimeWarning``) and replays what it holds."""
    shortfall = _edf_shortfall(path) if path.suffix.lower() in (".edf", ".bdf") else None
    try:
        raw = mne.io.read_raw(path, preload=True, verbose="error")
    except Exception as err:  # readers raise many types for unsupported or corrupt files
        raise ReplayError(f"{path}: cannot read ({type(err).__name__}: {err})") from err
    if raw.n_times == 0:
        raise ReplayError(f"{path}: the recording has no samples")
    if shortfall:
        warnings.warn(f"{path}: {shortfall}; replaying the {raw.n_times / raw.info['sfreq']:.1f} s "
                      "it holds", RuntimeWarning, stacklevel=3)
    return raw, _annotation_markers(raw)


def _edf_shortfall(path: Path) -> str | None:
    """Why an EDF/BDF file is shorter than its header declares, or None when it is not.

    The fixed header gives the header size (bytes 184-192), the number of data records
    (236-244, -1 when unknown), the record duration (244-252) and the number of signals
    (252-256); each signal's samples per record follow at ``256 + 216 * n_signals``. A record
    holds 2 bytes a sample in EDF, 3 in BDF. MNE infers the length from the file size, so a
    truncated file would otherwise replay silently as a shorter one.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(256)
            n_signals = int(head[252:256])
            f.seek(256 + 216 * n_signals)
            per_record = [int(f.read(8)) for _ in range(n_signals)]
        header_bytes, n_records = int(head[184:192]), int(head[236:244])
        record_seconds = float(head[244:252])
    except (OSError, ValueError):
        return None  # not a header this check understands: MNE's reader decides
    sample_bytes = 3 if head[:1] == b"\xff" or path.suffix.lower() == ".bdf" else 2
    record_bytes = sample_bytes * sum(per_record)
    if n_records <= 0 or record_bytes <= 0:
        return None
    present = (path.stat().st_size - header_bytes) / record_bytes
    if present >= n_records:
        return None
    return (f"the file is shorter than its header says: {n_records} data records "
            f"({n_records * record_seconds:g} s) declared, {present:.1f} present "
            f"({present * record_seconds:.1f} s); was it truncated or copied incompletely?")


def _annotation_markers(raw: mne.io.BaseRaw) -> list[Marker]:
    """One marker per annotation onset (its description) and, with a duration, ``"<desc> end"``
    at the last sample it covers. Annotations outside the data are dropped."""
    sfreq = raw.info["sfreq"]
    last = raw.n_times - 1
    markers: list[Marker] = []
    for annot in raw.annotations:
        onset = round((annot["onset"] - raw.first_time) * sfreq)  # annotation onsets count
        if not 0 <= onset <= last:  # from sample 0, not from raw.first_samp
            continue
        markers.append(Marker(onset, str(annot["description"])))
        n_covered = round(annot["duration"] * sfreq)
        if n_covered > 0:
            end = min(onset + n_covered - 1, last)
            markers.append(Marker(end, f"{annot['description']} end"))
    return sorted(markers, key=lambda marker: marker.sample)  # stable: keeps file order
