"""Tests for offline_training.seed: SEED layout discovery, trial reading and validation."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from models.eeg import regions
from offline_training import seed
from offline_training.seed import SeedFormatError

N_CH = len(seed.SEED_CHANNELS)


def _trial(n_samples: int, value: float = 0.0) -> np.ndarray:
    """A float64 trial of shape (62, n_samples): row i holds value + i (identifies the trial)."""
    return value + np.arange(N_CH, dtype=np.float64)[:, None] + np.zeros((1, n_samples))


def _write_session(path: Path, prefix: str, lengths: list[int], shuffle: bool = True) -> None:
    """Write trials <prefix>_eeg<i> (value 1000*i, T = lengths[i-1]), keys shuffled on request."""
    items = [(f"{prefix}_eeg{i}", _trial(n, 1000.0 * i)) for i, n in enumerate(lengths, start=1)]
    if shuffle:
        items = [items[j] for j in np.random.default_rng(1).permutation(len(items))]
    scipy.io.savemat(path, dict(items))


def _write_labels(folder: Path, labels: object = None) -> None:
    labels = np.array([seed.SEED_LABELS]) if labels is None else labels
    scipy.io.savemat(folder / "label.mat", {"label": labels})


@pytest.fixture
def seed_root(tmp_path: Path) -> Path:
    """A tiny SEED/ tree: 2 subjects x 2 sessions, odd prefixes, 12 trials of unequal length."""
    data = tmp_path / "SEED" / "Preprocessed_EEG"
    data.mkdir(parents=True)
    lengths = [3 + i for i in range(12)]  # eeg10..eeg12 exercise numeric (not string) order
    # Dates written out of order on disk; session = rank of the date.
    _write_session(data / "2_20140101.mat", "a_b", lengths)
    _write_session(data / "2_20131230.mat", "a_b", lengths)
    _write_session(data / "1_20131107.mat", "djc", lengths)
    _write_session(data / "1_20131027.mat", "djc", lengths)
    _write_labels(data)
    (data / "readme.txt").write_text("not a session")
    (data / "notes_2013.mat").write_bytes(b"ignored: name does not match")
    return tmp_path / "SEED"


def test_constants() -> None:
    assert len(seed.SEED_CHANNELS) == 62
    assert len(set(seed.SEED_CHANNELS)) == 62
    assert seed.SEED_CHANNELS[0] == "FP1" and seed.SEED_CHANNELS[-1] == "CB2"
    assert seed.SEED_CHANNELS.index("T7") == 23 and seed.SEED_CHANNELS.index("OZ") == 59
    assert set(regions.FRONTAL) <= set(seed.SEED_CHANNELS)
    assert set(regions.TEMPORAL) <= set(seed.SEED_CHANNELS)
    assert len(regions.FRONTAL) == 14 and len(regions.TEMPORAL) == 6
    assert seed.SEED_SFREQ == 200.0
    assert len(seed.TRIAL_SECONDS) == 15 and sum(seed.TRIAL_SECONDS) == 3394
    assert len(seed.SEED_LABELS) == 15 and set(seed.SEED_LABELS) == {-1, 0, 1}
    assert seed.CLASS_NAMES == ("negative", "neutral", "positive")
    assert issubclass(SeedFormatError, ValueError)


@pytest.mark.parametrize("sub", ["", "Preprocessed_EEG"])
def test_find_sessions_order_and_roots(seed_root: Path, sub: str) -> None:
    sessions = seed.find_sessions(seed_root / sub if sub else seed_root)
    got = [(s.subject, s.session, s.date, s.path.name) for s in sessions]
    assert got == [
        (1, 1, "20131027", "1_20131027.mat"),
        (1, 2, "20131107", "1_20131107.mat"),
        (2, 1, "20131230", "2_20131230.mat"),
        (2, 2, "20140101", "2_20140101.mat"),
    ]
    assert all(isinstance(s, seed.SessionFile) for s in sessions)


def test_find_sessions_seed_eeg_name_and_numeric_subject_order(tmp_path: Path) -> None:
    data = tmp_path / "SEED_EEG" / "Preprocessed_EEG"
    data.mkdir(parents=True)
    for name in ("10_20140601.mat", "2_20140501.mat"):
        _write_session(data / name, "zjy", [3])
    sessions = seed.find_sessions(tmp_path / "SEED_EEG")
    assert [s.subject for s in sessions] == [2, 10]
    assert seed.find_sessions(tmp_path) == sessions  # parent of SEED_EEG/ is also fine


def test_find_sessions_empty_folder_names_it(tmp_path: Path) -> None:
    (tmp_path / "label.mat").write_bytes(b"")
    with pytest.raises(SeedFormatError, match=re.escape(str(tmp_path))) as info:
        seed.find_sessions(tmp_path)
    assert "<subject>_<YYYYMMDD>.mat" in str(info.value)
    with pytest.raises(SeedFormatError, match="not found"):
        seed.find_sessions(tmp_path / "missing")


def test_trial_keys_ordered_by_number(seed_root: Path) -> None:
    path = seed.find_sessions(seed_root)[2].path
    keys = seed.trial_keys(path)
    assert keys == [f"a_b_eeg{i}" for i in range(1, 13)]


def test_read_trials_order_shapes_dtype(seed_root: Path) -> None:
    path = seed.find_sessions(seed_root)[0].path
    trials = seed.read_trials(path)
    assert len(trials) == 12
    for i, arr in enumerate(trials, start=1):
        assert arr.dtype == np.float32
        assert arr.shape == (62, 2 + i)
        assert arr[0, 0] == 1000.0 * i and arr[61, -1] == 1000.0 * i + 61
        assert arr.flags.c_contiguous


def test_read_trials_subset_and_dtype(seed_root: Path) -> None:
    path = seed.find_sessions(seed_root)[3].path
    picked = seed.read_trials(path, trials=[10, 2], dtype=np.float64)
    assert [a[0, 0] for a in picked] == [10000.0, 2000.0]
    assert picked[0].dtype == np.float64
    with pytest.raises(SeedFormatError, match=r"\[13\] not found"):
        seed.read_trials(path, trials=[13])


def test_read_labels(seed_root: Path) -> None:
    expected = np.array(seed.SEED_LABELS) + 1
    data = seed_root / "Preprocessed_EEG"
    for root in (seed_root, data, data / "label.mat"):
        labels = seed.read_labels(root)
        assert labels.dtype == np.int64 and labels.shape == (15,)
        np.testing.assert_array_equal(labels, expected)
    assert seed.find_label_file(seed_root) == seed_root / "Preprocessed_EEG" / "label.mat"


def test_missing_label_file_names_folder(tmp_path: Path) -> None:
    with pytest.raises(SeedFormatError, match=re.escape(str(tmp_path))) as info:
        seed.read_labels(tmp_path)
    assert "label.mat" in str(info.value)


@pytest.mark.parametrize(
    ("labels", "what"),
    [
        (np.zeros((1, 14)), "shape"),
        (np.zeros((3, 15)), "shape"),
        (np.full((1, 15), 2), "outside"),
    ],
)
def test_bad_labels_name_file_and_key(tmp_path: Path, labels: np.ndarray, what: str) -> None:
    _write_labels(tmp_path, labels)
    with pytest.raises(SeedFormatError, match=what) as info:
        seed.read_labels(tmp_path)
    assert str(tmp_path / "label.mat") in str(info.value) and "'label'" in str(info.value)


def test_label_file_without_label_key(tmp_path: Path) -> None:
    scipy.io.savemat(tmp_path / "label.mat", {"labels": np.zeros((1, 15))})
    with pytest.raises(SeedFormatError, match="key 'label' not found"):
        seed.read_labels(tmp_path)


@pytest.mark.parametrize(
    "content",
    [b"", b"this is not a MATLAB file at all" * 20, "truncated"],
)
def test_corrupt_file_names_file(tmp_path: Path, content: bytes | str) -> None:
    path = tmp_path / "1_20131027.mat"
    if content == "truncated":
        _write_session(path, "djc", [400, 400], shuffle=False)
        path.write_bytes(path.read_bytes()[:-20000])
    else:
        path.write_bytes(content)
    with pytest.raises(SeedFormatError, match=re.escape(str(path))):
        seed.read_trials(path)


def test_missing_session_file(tmp_path: Path) -> None:
    with pytest.raises(SeedFormatError, match="not found"):
        seed.read_trials(tmp_path / "1_20131027.mat")


def test_no_trial_keys(tmp_path: Path) -> None:
    path = tmp_path / "1_20131027.mat"
    scipy.io.savemat(path, {"eeg_1": _trial(3), "djc_eeg": _trial(3)})  # official-readme names
    with pytest.raises(SeedFormatError, match="no trial keys") as info:
        seed.read_trials(path)
    assert str(path) in str(info.value)
    with pytest.raises(SeedFormatError, match="no trial keys"):
        seed.trial_keys(path)


def test_wrong_channel_count_names_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "1_20131027.mat"
    scipy.io.savemat(path, {"djc_eeg1": _trial(3), "djc_eeg2": np.zeros((61, 3))})
    with pytest.raises(SeedFormatError, match="61 channels") as info:
        seed.read_trials(path)
    assert str(path) in str(info.value) and "'djc_eeg2'" in str(info.value)
    assert len(seed.read_trials(path, trials=[1])) == 1


def test_transposed_trial_hint(tmp_path: Path) -> None:
    path = tmp_path / "1_20131027.mat"
    scipy.io.savemat(path, {"djc_eeg1": np.zeros((100, 62))})
    with pytest.raises(SeedFormatError, match="transposed"):
        seed.read_trials(path)


def test_wrong_ndim_names_key(tmp_path: Path) -> None:
    path = tmp_path / "1_20131027.mat"
    scipy.io.savemat(path, {"djc_eeg1": np.zeros((62, 3, 2))})
    with pytest.raises(SeedFormatError, match="'djc_eeg1' has shape"):
        seed.read_trials(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_inf_names_file_key_and_count(tmp_path: Path, bad: float) -> None:
    path = tmp_path / "3_20131027.mat"
    arr = _trial(10)
    arr[5, 2] = bad
    arr[7, 9] = bad
    arr[8, 0] = bad
    scipy.io.savemat(path, {"jl_eeg1": _trial(4), "jl_eeg2": arr})
    with pytest.raises(SeedFormatError, match="3 NaN/Inf") as info:
        seed.read_trials(path)
    assert str(path) in str(info.value) and "'jl_eeg2'" in str(info.value)


def test_duplicate_trial_number_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "1_20131027.mat"
    scipy.io.savemat(path, {"djc_eeg1": _trial(3), "jl_eeg1": _trial(3)})
    with pytest.raises(SeedFormatError, match="trial 1"):
        seed.trial_keys(path)
