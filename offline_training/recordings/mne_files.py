"""Every format MNE's readers open: FIF, EDF, BDF, EEGLAB ``.set``, BrainVision ``.vhdr`` and
Neuroscan ``.cnt`` (``mne.io.read_raw``), and files of a BIDS dataset (``mne_bids.read_raw_bids``).

- EEG channels are picked by channel type (``raw.get_channel_types()``, type ``"eeg"``); every
  other channel (EOG, ECG, EMG, stim, misc...) is reported in ``dropped``. EDF/BDF signal labels
  such as ``"EOG Fp1"`` give their type (``infer_types=True``) and lose the prefix.
- MNE holds EEG in volts; the data come back in microvolts.
- Annotation onsets: MNE keeps ``raw.annotations.onset`` on the time axis whose zero is the
  measurement start, where the first sample kept in the file lies at ``raw.first_time``
  (``first_samp / sfreq``, nonzero for FIF files cropped or recorded with a pre-start). The
  onset from the recording's first sample is therefore ``onset - raw.first_time``, whether or
  not the file has a measurement date (MNE adds ``first_time`` to onsets of annotations without
  ``orig_time`` when it attaches them).
- A file without annotations but with a stim channel (FIF ``STI 014``, BioSemi ``Status``...)
  gets its events from that channel (``mne.find_events``, MNE's default stim channel): one
  zero-duration event per trigger onset, described by its integer code (``"3"``), with a note.
- BrainVision files carry no channel types: MNE marks ``HEOGL``, ``HEOGR`` and ``VEOGb`` as EOG
  and channels in non-voltage units as misc; everything else counts as EEG. Their markers are
  described ``"<type>/<description>"`` (``"Stimulus/S  1"``, ``"Comment/start"``).
- ``.cnt`` is read through MNE's ``read_raw_cnt`` and is not covered by the tests: no writer
  for it exists to make a test file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from offline_training.recordings.base import Event, RecordingError, Signals

if TYPE_CHECKING:
    import mne

__all__ = ["read_mne", "signals_from_raw"]

_PLACEHOLDER_IDS = {"", "x", "n/a", "na", "unknown", "none"}


def read_mne(path: Path, *, bids_root: Path | None = None) -> Signals:
    """Read one file through MNE (``mne_bids.read_raw_bids`` when ``bids_root`` is given).

    Args:
        path: a ``.fif .edf .bdf .set .vhdr .cnt`` file.
        bids_root: the BIDS dataset the file belongs to, if any.

    Returns:
        :class:`~offline_training.recordings.base.Signals`: EEG (n_eeg, n_samples) float32 in
        microvolts, annotations as events with onsets in seconds from the first sample.

    Raises:
        RecordingError: naming the file, when MNE cannot read it or it has no EEG channel.
    """
    if bids_root is not None:
        from offline_training.recordings.bids import read_raw_bids_file

        raw = read_raw_bids_file(path, bids_root)
    else:
        import mne

        extra = {"infer_types": True} if path.suffix.lower() in (".edf", ".bdf") else {}
        try:
            raw = mne.io.read_raw(path, preload=True, verbose="error", **extra)
        except Exception as exc:
            raise RecordingError(f"{path}: MNE cannot read it ({type(exc).__name__}: {exc}); "
                                 "is the file complete and in the format its name says?"
                                 ) from exc
    return signals_from_raw(raw, path)


def signals_from_raw(raw: mne.io.BaseRaw, path: Path) -> Signals:
    """EEG channels, events and subject of an MNE ``Raw`` read from ``path``.

    Returns:
        Signals with data (n_eeg, n_samples) float32 in microvolts.

    Raises:
        RecordingError: naming the file and the channel types it has, when none is EEG.
    """
    types = raw.get_channel_types()
    eeg = [i for i, kind in enumerate(types) if kind == "eeg"]
    if not eeg:
        found = ", ".join(f"{name} ({kind})" for name, kind in zip(raw.ch_names, types,
                                                                   strict=True))
        raise RecordingError(f"{path}: no EEG channel (channel type 'eeg'); its channels are: "
                             f"{found or 'none'}")
    dropped = [raw.ch_names[i] for i, kind in enumerate(types) if kind != "eeg"]
    data = raw.get_data(picks=eeg, units="uV").astype(np.float32, copy=False)
    annotations = raw.annotations
    first = float(raw.first_time)
    events = [Event(float(onset) - first, float(duration), str(description))
              for onset, duration, description in zip(annotations.onset, annotations.duration,
                                                      annotations.description, strict=True)]
    notes: list[str] = []
    if not events and "stim" in types:
        events = _stim_events(raw, notes)
    return Signals(data=data, sfreq=float(raw.info["sfreq"]),
                   ch_names=[raw.ch_names[i] for i in eeg], dropped=dropped, events=events,
                   subject=_subject(raw), notes=notes)


def _stim_events(raw: mne.io.BaseRaw, notes: list[str]) -> list[Event]:
    """Trigger onsets of MNE's default stim channel as zero-duration events ("<code>")."""
    import mne

    try:
        found = mne.find_events(raw, shortest_event=1, initial_event=True, verbose="error")
    except (ValueError, RuntimeError):
        return []
    if len(found):
        notes.append(f"no annotations: {len(found)} events read from the stim channel")
    sfreq = float(raw.info["sfreq"])
    return [Event((int(sample) - raw.first_samp) / sfreq, 0.0, str(int(code)))
            for sample, _, code in found]


def _subject(raw: mne.io.BaseRaw) -> str | None:
    info = raw.info.get("subject_info") or {}
    his_id = str(info.get("his_id") or "").strip()
    return None if his_id.lower() in _PLACEHOLDER_IDS else his_id
