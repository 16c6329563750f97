"""What a ``--data`` path is: one SEED folder, or lab recordings.

``sicleer-train --data PATH [PATH ...]`` takes either

- exactly one SEED folder (``SEED/``, ``SEED_EEG/``, ``Preprocessed_EEG/`` or a
  ``sicleer-synth`` folder; recognised by :func:`offline_training.seed.is_seed_folder`), or
- recordings, any mix of: recording files (``.xdf .fif .edf .bdf .set .vhdr .cnt``), folders
  of recordings (searched recursively) and BIDS dataset roots
  (:func:`offline_training.recordings.find_recordings`).

SEED folders and recordings in one ``--data`` are refused (their classes, trials and
protocols differ), as is more than one SEED folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from offline_training.recordings import RECORDING_SUFFIXES, RecordingError, find_recordings
from offline_training.seed import is_seed_folder

__all__ = ["DataSourceError", "DataSources", "resolve_sources"]


class DataSourceError(ValueError):
    """``--data`` paths that cannot be trained on together (the message names them)."""


@dataclass(frozen=True)
class DataSources:
    """The resolved ``--data``.

    Attributes:
        seed_root: the SEED folder, or None for recordings.
        recordings: the recording files, in the order given (each path's files sorted),
            without repeats; empty for SEED.
    """

    seed_root: Path | None
    recordings: tuple[Path, ...] = ()

    @property
    def kind(self) -> str:
        """``"seed"`` or ``"recordings"``."""
        return "seed" if self.seed_root is not None else "recordings"


def resolve_sources(paths: Sequence[Path]) -> DataSources:
    """Say what the ``--data`` paths are.

    Args:
        paths: as given on the command line.

    Returns:
        One SEED folder, or the recording files the paths name.

    Raises:
        DataSourceError: SEED folders mixed with recordings, or several SEED folders.
        RecordingError: a path that does not exist, a file with an unknown ending, a folder
            that is neither SEED nor holds any recording (the message names the path).
    """
    paths = [Path(p) for p in paths]
    seed = [p for p in paths if is_seed_folder(p)]
    others = [p for p in paths if p not in seed]
    if seed and others:
        raise DataSourceError(
            f"--data mixes SEED folders ({', '.join(map(str, seed))}) with recordings "
            f"({', '.join(map(str, others))}); train on one kind at a time")
    if len(seed) > 1:
        raise DataSourceError(f"--data names {len(seed)} SEED folders "
                              f"({', '.join(map(str, seed))}); give one")
    if seed:
        return DataSources(seed[0])
    found: dict[Path, Path] = {}  # resolved -> as named: a file named twice is read once
    for path in paths:
        try:
            files = find_recordings(path)
        except RecordingError as exc:
            if path.is_dir():  # neither kind: say what either would need
                raise RecordingError(
                    f"{path}: neither a SEED folder (Preprocessed_EEG/ or files named "
                    f"<subject>_<YYYYMMDD>.mat) nor a folder of recordings (endings "
                    f"{' '.join(RECORDING_SUFFIXES)}) or a BIDS dataset") from exc
            raise
        for file in files:
            found.setdefault(file.resolve(), file)
    return DataSources(None, tuple(found.values()))
