"""BIDS datasets through ``mne-bids``: finding a dataset's EEG recordings, reading one of them
(``read_raw_bids`` applies ``channels.tsv`` types and ``events.tsv`` events), and the subject and
session names that BIDS-style file names carry (LabRecorder names its XDF files that way too:
``sub-P001_ses-S001_task-Default_run-001_eeg.xdf``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from offline_training.recordings.base import MNE_SUFFIXES, RecordingError

if TYPE_CHECKING:
    import mne

__all__ = [
    "DATASET_DESCRIPTION",
    "bids_root_of",
    "entities_of",
    "find_bids_recordings",
    "is_bids_root",
    "read_raw_bids_file",
    "session_name",
]

DATASET_DESCRIPTION = "dataset_description.json"
"""The file that marks the root folder of a BIDS dataset."""
_SESSION_ENTITIES = (("session", "ses"), ("task", "task"), ("acquisition", "acq"),
                     ("run", "run"))


def is_bids_root(path: Path) -> bool:
    """Whether ``path`` is a folder holding ``dataset_description.json``."""
    return path.is_dir() and (path / DATASET_DESCRIPTION).is_file()


def bids_root_of(path: Path) -> Path | None:
    """The BIDS dataset root above the file ``path`` (named ``sub-*``), or None."""
    if not path.name.startswith("sub-"):
        return None
    for parent in path.resolve().parents:
        if is_bids_root(parent):
            return parent
    return None


def entities_of(path: Path) -> dict[str, str]:
    """BIDS entities of a ``sub-*`` file name (``{"subject": "01", "run": "2", ...}``, only
    those present); ``{}`` for any other name."""
    if not path.name.startswith("sub-"):
        return {}
    from mne_bids import get_entities_from_fname

    found = get_entities_from_fname(path.name, on_error="ignore")
    return {key: str(value) for key, value in found.items() if value is not None}


def session_name(entities: dict[str, str]) -> str | None:
    """``"ses-02_task-emo_run-1"`` from the entities present (None when none are)."""
    parts = [f"{short}-{entities[key]}" for key, short in _SESSION_ENTITIES if key in entities]
    return "_".join(parts) or None


def find_bids_recordings(root: Path) -> list[Path]:
    """The EEG recordings of a BIDS dataset: ``sub-*/[ses-*/]eeg/*_eeg.<ext>`` for the endings
    MNE reads (derivatives and sourcedata are not searched), sorted."""
    from mne_bids import find_matching_paths

    paths = find_matching_paths(root, datatypes="eeg", suffixes="eeg",
                                extensions=list(MNE_SUFFIXES), ignore_json=True,
                                ignore_nosub=True)
    return sorted({Path(p.fpath) for p in paths})


def read_raw_bids_file(path: Path, root: Path) -> mne.io.BaseRaw:
    """Read one EEG file of the BIDS dataset at ``root`` with ``mne_bids.read_raw_bids``
    (data loaded; channel types from ``channels.tsv``, annotations from ``events.tsv``).

    Raises:
        RecordingError: naming the file, when mne-bids cannot read it.
    """
    from mne_bids import get_bids_path_from_fname, read_raw_bids

    try:
        bids_path = get_bids_path_from_fname(path, check=False)
        bids_path.update(root=root, datatype=bids_path.datatype or "eeg")
        raw = read_raw_bids(bids_path, verbose="error")
        raw.load_data(verbose="error")
    except Exception as exc:
        raise RecordingError(f"{path}: cannot read it as part of the BIDS dataset {root}: "
                             f"{type(exc).__name__}: {exc}") from exc
    return raw
