"""Entry points: :func:`read_recording` (one file -> :class:`Recording`) and
:func:`find_recordings` (a file, a BIDS dataset or a folder -> the files to read)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from models.wording import count, plural
from offline_training.recordings.base import (
    MNE_SUFFIXES,
    RECORDING_SUFFIXES,
    Recording,
    RecordingError,
    Signals,
)
from offline_training.recordings.bids import (
    bids_root_of,
    entities_of,
    find_bids_recordings,
    is_bids_root,
    session_name,
)
from offline_training.recordings.labels import LabelMap
from offline_training.recordings.trials import build_trials, distinct_descriptions

__all__ = ["find_recordings", "read_recording", "recording_suffix"]

log = logging.getLogger(__name__)


def recording_suffix(path: Path) -> str | None:
    """The supported ending of ``path`` (lower case, e.g. ``".edf"``), or None."""
    suffix = path.suffix.lower()
    return suffix if suffix in RECORDING_SUFFIXES else None


def _supported() -> str:
    return " ".join(RECORDING_SUFFIXES)


def read_recording(path: str | os.PathLike[str], labels: LabelMap | None = None, *,
                   marker_stream: str | None = None, subject: str | None = None,
                   default_subject: str | None = None, require_trials: bool = True,
                   check_finite: bool = True) -> Recording:
    """Read a lab's labelled EEG recording: continuous EEG plus its labelled trials.

    Args:
        path: an ``.xdf .fif .edf .bdf .set .vhdr .cnt`` file (a file inside a BIDS dataset is
            read with ``mne_bids.read_raw_bids``).
        labels: which descriptions / markers are trials of which class
            (:func:`~offline_training.recordings.parse_label_map`); None: annotations with a
            duration (class = description) and ``trial N start|end <label>`` markers only.
        marker_stream: XDF only: the name of the marker stream to use.
        subject: the subject name to record, overriding BIDS and the file's metadata.
        default_subject: the subject when neither ``subject``, BIDS nor the file's metadata
            names one (None: the file stem).
        require_trials: without a label map, refuse a file that has no labelled trials (False:
            such a file is read with no trials and a note; a given label map is always
            checked). Scoring (``sicleer-predict``) needs no labels.
        check_finite: refuse non-finite samples (False: keep them, as the live app would
            receive them).

    Returns:
        The :class:`Recording`: data (n_eeg_channels, n_samples) float32 in microvolts at
        ``sfreq`` Hz, trials in time order with onsets/durations in seconds from the first
        sample (rules in :mod:`offline_training.recordings.trials`).

    Raises:
        RecordingError: naming the file: unknown ending, unreadable file, no EEG, no
            annotations or markers, a label map that matches nothing or leaves a class without
            trials (the descriptions the file has are listed), non-finite samples.
    """
    path = Path(path)
    suffix = recording_suffix(path)
    if path.is_dir():
        raise RecordingError(f"{path}: is a folder, not a recording (find_recordings lists the "
                             "recordings in a folder or BIDS dataset)")
    if suffix is None:
        raise RecordingError(f"{path}: unknown recording format {path.suffix or '(no ending)'!r};"
                             f" supported endings: {_supported()}")
    if not path.is_file():
        raise RecordingError(f"{path}: no such file")
    bids_root = bids_root_of(path) if suffix in MNE_SUFFIXES else None
    if suffix == ".xdf":
        from offline_training.recordings.xdf import read_xdf

        signals = read_xdf(path, marker_stream=marker_stream)
    else:
        from offline_training.recordings.mne_files import read_mne

        signals = read_mne(path, bids_root=bids_root)
    return _assemble(path, signals, labels, subject, default_subject, require_trials,
                     check_finite)


def _assemble(path: Path, signals: Signals, labels: LabelMap | None,
              subject: str | None, default_subject: str | None, require_trials: bool = True,
              check_finite: bool = True) -> Recording:
    if check_finite:
        _check_finite(path, signals)
    n_samples = signals.data.shape[1]
    try:
        trials, notes = build_trials(signals.events, labels, sfreq=signals.sfreq,
                                     data_seconds=n_samples / signals.sfreq, source=str(path))
    except RecordingError as exc:
        if require_trials or labels is not None:
            raise
        trials, notes = [], [f"no trials: {str(exc).removeprefix(f'{path}: ')}"]
    entities = entities_of(path)
    recording = Recording(
        path=path, data=signals.data, sfreq=signals.sfreq, ch_names=list(signals.ch_names),
        dropped=list(signals.dropped), trials=trials,
        subject=(subject or entities.get("subject") or signals.subject or default_subject
                 or _name_of(path)),
        session=session_name(entities) or _name_of(path),
        descriptions=distinct_descriptions(signals.events), notes=[*signals.notes, *notes])
    for note in recording.notes:
        log.info("%s: %s", path, note)
    return recording


def _name_of(path: Path) -> str:
    """A file's name as a session (or default subject): its stem without MNE's FIF naming
    suffix (``p07_raw.fif`` -> ``p07``), which names the file type, not the session."""
    stem = path.stem
    if path.suffix.lower() == ".fif":
        for suffix in ("_raw", "-raw", "_eeg", "-eeg"):
            if stem.endswith(suffix) and len(stem) > len(suffix):
                return stem[: -len(suffix)]
    return stem


def _check_finite(path: Path, signals: Signals) -> None:
    finite = np.isfinite(signals.data)
    if finite.all():
        return
    bad_rows = np.flatnonzero(~finite.all(axis=1))
    row = int(bad_rows[0])
    first = int(np.flatnonzero(~finite[row])[0])
    n_bad = int((~finite).sum())
    names = ", ".join(signals.ch_names[i] for i in bad_rows[:5])
    more = f" and {len(bad_rows) - 5} more" if len(bad_rows) > 5 else ""
    raise RecordingError(
        f"{path}: {count(n_bad, 'non-finite sample')} (NaN or infinity) in "
        f"{plural(len(bad_rows), 'channel')} {names}{more}; "
        f"the first in {signals.ch_names[row]} at sample {first} "
        f"({first / signals.sfreq:.3f} s)")


def find_recordings(path: str | os.PathLike[str]) -> list[Path]:
    """The recordings that ``path`` names.

    Args:
        path: a recording file -> ``[path]``; a BIDS dataset root (holding
            ``dataset_description.json``) -> its EEG recordings, through mne-bids; any other
            folder -> the files with a supported ending in it and its subfolders (hidden ones
            skipped).

    Returns:
        Paths, sorted.

    Raises:
        RecordingError: naming the path: it does not exist, a file with an unknown ending, a
            folder without any recording.
    """
    path = Path(path)
    if not path.exists():
        raise RecordingError(f"{path}: no such file or folder")
    if path.is_file():
        if recording_suffix(path) is None:
            raise RecordingError(f"{path}: unknown recording format {path.suffix!r}; supported "
                                 f"endings: {_supported()}")
        return [path]
    if is_bids_root(path):
        found = find_bids_recordings(path)
        what = "BIDS dataset with no EEG recording (sub-*/[ses-*/]eeg/*_eeg.<ext>)"
    else:
        found = sorted(p for p in path.rglob("*")
                       if p.is_file() and recording_suffix(p) is not None
                       and not any(part.startswith(".") for part in p.relative_to(path).parts))
        what = "folder with no recording"
    if not found:
        raise RecordingError(f"{path}: {what}; supported endings: {_supported()}")
    return found
