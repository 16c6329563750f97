"""SEED dataset format: the one module that knows how SEED files are laid out.

Layout (see ``docs/SEED_FORMAT.md``)::

    SEED/ (or SEED_EEG/)
      Preprocessed_EEG/
        <subject>_<YYYYMMDD>.mat   15 trials, keys ``<prefix>_eeg1`` .. ``<prefix>_eeg15``
        label.mat                  key ``label``, shape (1, 15), values in {-1, 0, 1}

Each trial array has shape (62 channels, T samples) at 200 Hz, values in microvolts.
Everything returned here uses the project's conventions: EEG as ``float32`` arrays of shape
(n_channels, n_samples) in microvolts, classes 0 negative, 1 neutral, 2 positive.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io

from models.eeg.seed_layout import SEED_CHANNELS, SEED_CLASS_NAMES, SEED_SFREQ
from models.wording import plural

__all__ = [
    "CLASS_NAMES",
    "MAT_HEADER_BYTES",
    "N_TRIALS",
    "SEED_CHANNELS",
    "SEED_LABELS",
    "SEED_SFREQ",
    "SESSION_FILE_RE",
    "TRIAL_SECONDS",
    "SeedFormatError",
    "SessionFile",
    "check_session",
    "find_label_file",
    "find_sessions",
    "is_seed_folder",
    "parse_numbers",
    "read_labels",
    "read_trials",
    "trial_keys",
]

TRIAL_SECONDS: tuple[int, ...] = (
    235, 233, 206, 238, 185, 195, 237, 216, 265, 237, 235, 233, 235, 238, 206,
)  # fmt: skip
"""Length of each of the 15 film clips, in seconds (T = 200 * seconds + 1 samples)."""

SEED_LABELS: tuple[int, ...] = (1, 0, -1, -1, 0, 1, -1, 0, 1, 1, 0, -1, 0, 1, -1)
"""SEED label of each trial: -1 negative, 0 neutral, 1 positive (same for every session)."""

CLASS_NAMES: tuple[str, ...] = SEED_CLASS_NAMES
"""Class names by class index (class = SEED label + 1)."""

N_TRIALS = 15
MAT_HEADER_BYTES = 116
"""Length of the descriptive text at the start of a MATLAB v5 file (where synth marks itself)."""
DATA_DIRNAME = "Preprocessed_EEG"
LABEL_FILENAME = "label.mat"
LABEL_KEY = "label"

SESSION_FILE_RE = re.compile(r"^(\d+)_(\d{8})\.mat$")
"""A session file name: groups (subject, YYYYMMDD date)."""
_TRIAL_RE = re.compile(r"^.+_eeg(\d+)$")
_EXPECTED = "files named <subject>_<YYYYMMDD>.mat (e.g. 1_20131027.mat)"


def parse_numbers(text: str) -> list[int]:
    """Parse a selection of 1-based numbers: ``"1-3,7"`` -> ``[1, 2, 3, 7]``.

    Used for ``--subjects``, ``--sessions`` and ``--trials``. Spaces are ignored; the result is
    sorted and de-duplicated.

    Raises:
        ValueError: an empty part, text other than numbers and ranges, a number below 1 or a
            decreasing range; the message quotes the text.
    """
    numbers: set[int] = set()
    for part in text.replace(" ", "").split(","):
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if match is None:
            raise ValueError(f"{text!r} is not a list of numbers such as '1-3,7'")
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if first < 1 or last < first:
            raise ValueError(f"invalid range {part!r} in {text!r}: numbers start at 1 and "
                             "ranges go upwards")
        numbers.update(range(first, last + 1))
    return sorted(numbers)


class SeedFormatError(ValueError):
    """A file or folder does not follow the SEED layout; the message names what is wrong."""


@dataclass(frozen=True)
class SessionFile:
    """One recording session: a ``<subject>_<YYYYMMDD>.mat`` file.

    Attributes:
        path: the .mat file.
        subject: subject number from the file name (1..15 in SEED).
        session: 1-based rank of ``date`` among this subject's files.
        date: the ``YYYYMMDD`` part of the file name.
    """

    path: Path
    subject: int
    session: int
    date: str


def _data_dir(root: str | Path) -> Path:
    """Return the folder that holds the session files, given SEED/, SEED_EEG/ or the folder itself.

    Raises:
        SeedFormatError: ``root`` does not exist or holds no session files.
    """
    root = Path(root)
    if not root.is_dir():
        raise SeedFormatError(f"SEED folder not found: {root} (expected a directory)")
    candidates = [root, root / DATA_DIRNAME]
    candidates += [root / name / DATA_DIRNAME for name in ("SEED", "SEED_EEG")]
    for folder in candidates:
        if folder.is_dir() and any(SESSION_FILE_RE.match(p.name) for p in _entries(folder)):
            return folder
    raise SeedFormatError(
        f"no SEED session files in {root} or {root / DATA_DIRNAME}: expected {_EXPECTED}"
    )


def is_seed_folder(path: str | Path) -> bool:
    """Whether ``path`` is laid out as a SEED folder (nothing is read but folder listings).

    True for a folder holding ``Preprocessed_EEG/`` (directly or under ``SEED/`` or
    ``SEED_EEG/``), ``label.mat`` or files named ``<subject>_<YYYYMMDD>.mat``; a folder that
    cannot be listed counts as not SEED.
    """
    path = Path(path)
    if not path.is_dir():
        return False
    subfolders = [path / DATA_DIRNAME, *(path / name / DATA_DIRNAME for name in ("SEED",
                                                                                  "SEED_EEG"))]
    if any(folder.is_dir() for folder in subfolders) or (path / LABEL_FILENAME).is_file():
        return True
    try:
        return any(SESSION_FILE_RE.match(p.name) for p in path.iterdir())
    except OSError:
        return False


def _entries(folder: Path) -> list[Path]:
    """The entries of ``folder``; a folder that cannot be listed is a SeedFormatError."""
    try:
        return list(folder.iterdir())
    except PermissionError:
        raise SeedFormatError(f"cannot read folder {folder}: permission denied (check its "
                              "read and execute permissions)") from None
    except OSError as err:
        raise SeedFormatError(f"cannot read folder {folder}: {err.strerror or err}") from None


def find_sessions(root: str | Path) -> list[SessionFile]:
    """List the session files under a SEED folder.

    Args:
        root: ``SEED/``, ``SEED_EEG/`` or ``Preprocessed_EEG/`` (the folder with the .mat files).

    Returns:
        Sessions sorted by (subject, session); ``session`` is the 1-based rank of the file's date
        among that subject's files. ``label.mat`` and other non-matching files are ignored.

    Raises:
        SeedFormatError: no session files found (the message names the folder), or one subject
            has two files with the same date.
    """
    folder = _data_dir(root)
    by_subject: dict[int, list[tuple[str, Path]]] = {}
    for path in _entries(folder):
        match = SESSION_FILE_RE.match(path.name)
        if match and path.is_file():
            by_subject.setdefault(int(match.group(1)), []).append((match.group(2), path))
    sessions: list[SessionFile] = []
    for subject in sorted(by_subject):
        files = sorted(by_subject[subject])
        dates = [date for date, _ in files]
        if len(set(dates)) != len(dates):
            names = ", ".join(p.name for _, p in files)
            raise SeedFormatError(
                f"subject {subject} has two files with the same date in {folder}: {names}"
            )
        for rank, (date, path) in enumerate(files, start=1):
            sessions.append(SessionFile(path=path, subject=subject, session=rank, date=date))
    return sessions


def find_label_file(root: str | Path) -> Path:
    """Return the ``label.mat`` of a SEED folder.

    Args:
        root: ``SEED/``, ``SEED_EEG/``, ``Preprocessed_EEG/`` or the label file itself.

    Raises:
        SeedFormatError: there is no ``label.mat`` (the message names the folder searched).
    """
    root = Path(root)
    if root.is_file():
        return root
    folders = [root, root / DATA_DIRNAME]
    folders += [root / name / DATA_DIRNAME for name in ("SEED", "SEED_EEG")]
    for folder in folders:
        if (folder / LABEL_FILENAME).is_file():
            return folder / LABEL_FILENAME
    raise SeedFormatError(
        f"{LABEL_FILENAME} not found in {root} or {root / DATA_DIRNAME}: expected a MATLAB file "
        f"with key '{LABEL_KEY}' of shape (1, {N_TRIALS}) and values in {{-1, 0, 1}}"
    )


def _loadmat(path: Path, keys: Sequence[str] | None = None) -> dict[str, object]:
    """``scipy.io.loadmat`` that turns every read failure into a SeedFormatError naming the file."""
    try:
        return scipy.io.loadmat(path, variable_names=keys)
    except Exception as err:  # scipy raises many types for corrupt files
        raise _read_error(path, err) from err


def _read_error(path: Path, err: Exception) -> SeedFormatError:
    """Build the error for a .mat file that scipy could not parse."""
    if isinstance(err, NotImplementedError):  # MATLAB v7.3 (HDF5)
        return SeedFormatError(f"cannot read {path}: MATLAB v7.3/HDF5 is not supported ({err})")
    if isinstance(err, PermissionError):
        return SeedFormatError(f"cannot read {path}: permission denied")
    if isinstance(err, OSError) and err.strerror:
        return SeedFormatError(f"cannot read {path}: {err.strerror}")
    return SeedFormatError(f"cannot read {path}: not a readable MATLAB file ({err})")


def read_labels(root_or_label_file: str | Path) -> np.ndarray:
    """Read the trial labels from ``label.mat``.

    Args:
        root_or_label_file: a SEED folder (see :func:`find_label_file`) or the label file.

    Returns:
        int64 array of shape (15,): classes 0 negative, 1 neutral, 2 positive (SEED label + 1).

    Raises:
        SeedFormatError: missing file, missing key, wrong shape or values outside {-1, 0, 1}.
    """
    path = find_label_file(root_or_label_file)
    data = _loadmat(path, [LABEL_KEY])
    if LABEL_KEY not in data:
        raise SeedFormatError(f"{path}: key '{LABEL_KEY}' not found")
    raw = np.asarray(data[LABEL_KEY])
    if raw.size != N_TRIALS or raw.ndim > 2 or max(raw.shape, default=0) != N_TRIALS:
        raise SeedFormatError(
            f"{path}: key '{LABEL_KEY}' has shape {raw.shape}, expected (1, {N_TRIALS})"
        )
    if not np.issubdtype(raw.dtype, np.number):
        raise SeedFormatError(f"{path}: key '{LABEL_KEY}' has non-numeric dtype {raw.dtype}")
    values = raw.reshape(-1)
    bad = ~np.isin(values, (-1, 0, 1))
    if bad.any():
        raise SeedFormatError(
            f"{path}: key '{LABEL_KEY}' has values {sorted(set(values[bad].tolist()))} "
            "outside {-1, 0, 1}"
        )
    return values.astype(np.int64) + 1


def _numbered_keys(path: Path, names: Iterable[str]) -> list[tuple[int, str]]:
    """Return (trial number, key) for every trial key, ordered by number; checks duplicates."""
    numbered: dict[int, str] = {}
    for name in names:
        match = _TRIAL_RE.match(name)
        if name.startswith("__") or not match:
            continue
        number = int(match.group(1))
        if number in numbered:
            raise SeedFormatError(
                f"{path}: keys '{numbered[number]}' and '{name}' both hold trial {number}"
            )
        numbered[number] = name
    if not numbered:
        raise SeedFormatError(
            f"{path}: no trial keys found; expected keys like '<prefix>_eeg1' .. "
            f"'<prefix>_eeg{N_TRIALS}' (keys present: {sorted(names)})"
        )
    return sorted(numbered.items())


def _variables(path: Path) -> dict[str, tuple[int, ...]]:
    """Name -> shape of the variables stored in a .mat file (reads headers only, not data)."""
    if not path.is_file():
        raise SeedFormatError(f"session file not found: {path}")
    try:
        return {name: tuple(shape) for name, shape, _cls in scipy.io.whosmat(path)}
    except Exception as err:
        raise _read_error(path, err) from err


def _variable_names(path: Path) -> list[str]:
    """Names of the variables stored in a .mat file (reads headers only, not data)."""
    return list(_variables(path))


def trial_keys(path: str | Path) -> list[str]:
    """Return the trial keys of a session file (``^.+_eeg(\\d+)$``), ordered by trial number.

    Raises:
        SeedFormatError: unreadable file or no trial keys (the message names the file).
    """
    path = Path(path)
    return [key for _, key in _numbered_keys(path, _variable_names(path))]


def _check_numbers(path: Path, available: dict[int, str]) -> None:
    """Refuse a session whose trials are not exactly 1..N_TRIALS, naming what is missing or
    extra (each trial needs its label in ``label.mat``)."""
    expected = set(range(1, N_TRIALS + 1))
    missing = sorted(expected - set(available))
    extra = sorted(set(available) - expected)
    layout = (f"a SEED session holds trials 1-{N_TRIALS}, keys '<prefix>_eeg1' .. "
              f"'<prefix>_eeg{N_TRIALS}', one per label in {LABEL_FILENAME}")
    if missing:
        raise SeedFormatError(f"{path}: {plural(len(missing), 'trial')} {missing} missing "
                              f"({layout}); trial keys present: "
                              f"{[available[n] for n in sorted(available)]}")
    if extra:
        raise SeedFormatError(f"{path}: unexpected {plural(len(extra), 'trial')} {extra} (keys "
                              f"{[available[n] for n in extra]}; {layout})")


def _check_shape(where: str, shape: tuple[int, ...], number: int, min_samples: int,
                 what: str = "one window") -> None:
    """Validate a trial's shape (62, T) with T >= ``min_samples``; ``where`` names file and key,
    ``what`` says what ``min_samples`` is made of."""
    if len(shape) != 2:
        raise SeedFormatError(f"{where} has shape {shape}, expected 2-D (62 channels, T)")
    n_channels, n_samples = shape
    if n_channels != len(SEED_CHANNELS):
        hint = " (transposed?)" if n_samples == len(SEED_CHANNELS) else ""
        raise SeedFormatError(
            f"{where} has {n_channels} channels (shape {shape}), "
            f"expected {len(SEED_CHANNELS)}{hint}"
        )
    if n_samples == 0:
        raise SeedFormatError(f"{where} has no samples")
    if n_samples < min_samples:
        raise SeedFormatError(
            f"{where} (trial {number}) has {n_samples} samples ({n_samples / SEED_SFREQ:g} s at "
            f"{SEED_SFREQ:g} Hz), fewer than the {min_samples} samples "
            f"({min_samples / SEED_SFREQ:g} s) of {what}"
        )


def check_session(path: str | Path, min_samples: int = 1, what: str = "one window") -> None:
    """Check a session file from its headers only (no data read): exactly the trials 1..15,
    each of shape (62, T) with T >= ``min_samples`` (``what``: what that length is, for the
    message).

    Raises:
        SeedFormatError: naming the file, the key and the trial at fault, and what was
            expected.
    """
    path = Path(path)
    shapes = _variables(path)
    available = dict(_numbered_keys(path, list(shapes)))
    _check_numbers(path, available)
    for number, key in sorted(available.items()):
        _check_shape(f"{path}: key '{key}'", shapes[key], number, min_samples, what)


def _check_trial(path: Path, key: str, array: np.ndarray, number: int,
                 min_samples: int = 1) -> None:
    """Validate one trial array of shape (62, T); raise SeedFormatError naming file and key."""
    where = f"{path}: key '{key}'"
    if array.ndim != 2:
        raise SeedFormatError(f"{where} has shape {array.shape}, expected 2-D (62 channels, T)")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise SeedFormatError(f"{where} has dtype {array.dtype}, expected a real numeric array")
    _check_shape(where, array.shape, number, min_samples)
    n_bad = int(array.size - np.count_nonzero(np.isfinite(array)))
    if n_bad:
        raise SeedFormatError(f"{where} has {n_bad} NaN/Inf values of {array.size}")


def read_trials(
    path: str | Path,
    trials: Sequence[int] | None = None,
    dtype: np.dtype | type = np.float32,
    *,
    complete: bool = False,
    min_samples: int = 1,
) -> list[np.ndarray]:
    """Read the trials of one session file.

    Args:
        path: a ``<subject>_<YYYYMMDD>.mat`` file.
        trials: 1-based trial numbers to read, in the order wanted; ``None`` reads all, ordered
            by trial number.
        dtype: dtype of the returned arrays (default float32).
        complete: require exactly the trials 1..15 (what training needs: one label each).
        min_samples: shortest trial accepted, in samples (training: one window).

    Returns:
        One array per trial, shape (62, T_i) with T_i samples at 200 Hz, in microvolts.

    Raises:
        SeedFormatError: unreadable file, no trial keys, a requested trial missing, with
            ``complete`` a trial of 1..15 missing or one beyond them, an array not 2-D, a
            channel count other than 62, fewer than ``min_samples`` samples, or NaN/Inf values
            (the message names file and key, and what was expected).
    """
    path = Path(path)
    available = dict(_numbered_keys(path, _variable_names(path)))
    if complete:
        _check_numbers(path, available)
    numbers = sorted(available) if trials is None else [int(n) for n in trials]
    missing = [n for n in numbers if n not in available]
    if missing:
        raise SeedFormatError(
            f"{path}: {plural(len(missing), 'trial')} {missing} not found; trials present: "
            f"{sorted(available)}"
        )
    out: list[np.ndarray] = []
    for number in numbers:  # one key at a time keeps peak memory to one float64 trial
        key = available[number]
        data = _loadmat(path, [key])
        if key not in data:
            raise SeedFormatError(f"{path}: key '{key}' could not be loaded")
        array = np.asarray(data.pop(key))
        _check_trial(path, key, array, number, min_samples)
        out.append(np.ascontiguousarray(array, dtype=dtype))
        del array, data
    return out
