"""``sicleer-train`` on SEED folders that are wrong in ways a real copy can be: each is refused
before any training, with a message naming the file, the key and what was expected, and the
bad-input exit code."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.io

from models.exit_codes import ExitCode
from offline_training import seed
from offline_training.cli import main as train_main
from offline_training.data import session_windows
from offline_training.seed import SeedFormatError


@pytest.fixture
def seed_copy(tmp_path: Path) -> tuple[Path, Path, dict[str, np.ndarray]]:
    """A one-session synthetic SEED folder of 1.5-s trials: (root, session file, its trials)."""
    from offline_training.synth import generate_seed_folder

    root = tmp_path / "SEED"
    paths = generate_seed_folder(root, subjects=(1,), n_sessions=1, trial_seconds=1.5, seed=0)
    session = next(p for p in paths if p.name.startswith("1_"))
    trials = {k: v for k, v in scipy.io.loadmat(session).items() if not k.startswith("__")}
    return root, session, trials


def _train(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = train_main(["--data", str(root), "--out", str(tmp_path / "out"), "--epochs", "1",
                       "--hidden-dims", "8", "--output-dims", "16", "-q"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def test_a_trial_shorter_than_one_window_names_file_key_and_trial(
        seed_copy: tuple, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, session, trials = seed_copy
    trials["djc_eeg3"] = trials["djc_eeg3"][:, :150]  # 0.75 s, the window is 1 s
    scipy.io.savemat(session, trials)
    code, err = _train(root, tmp_path, capsys)
    assert code == ExitCode.BAD_INPUT
    assert str(session) in err and "key 'djc_eeg3' (trial 3) has 150 samples" in err
    assert "fewer than the 200 samples (1 s) of one window" in err
    assert not (tmp_path / "out" / "folds").exists()  # refused before any training
    with pytest.raises(SeedFormatError, match="'djc_eeg3' \\(trial 3\\)"):  # also when cutting
        session_windows(seed.find_sessions(root)[0], seed.read_labels(root), 200, 200)


@pytest.mark.parametrize("change, expected", [
    ("extra", r"unexpected trial \[16\] \(keys \['djc_eeg16'\]"),
    ("missing", r"trial \[15\] missing"),
])
def test_a_missing_or_extra_trial_says_what_was_expected(
        change: str, expected: str, seed_copy: tuple, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    root, session, trials = seed_copy
    if change == "extra":
        trials["djc_eeg16"] = trials["djc_eeg1"]
    else:
        del trials["djc_eeg15"]
    scipy.io.savemat(session, trials)
    code, err = _train(root, tmp_path, capsys)
    assert code == ExitCode.BAD_INPUT
    assert str(session) in err and re.search(expected, err), err
    assert "a SEED session holds trials 1-15" in err and "label.mat" in err


def test_a_folder_without_read_permission_is_named(
        seed_copy: tuple, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    root, _, _ = seed_copy
    folder = root / "Preprocessed_EEG"
    folder.chmod(0)
    try:
        if os.access(folder, os.R_OK):  # root reads anything: refuse the listing as Linux would
            listing = Path.iterdir

            def denied(self: Path) -> Any:
                if self == folder:
                    raise PermissionError(13, "Permission denied", str(self))
                return listing(self)

            monkeypatch.setattr(Path, "iterdir", denied)
        code, err = _train(root, tmp_path, capsys)
    finally:
        folder.chmod(0o755)
    assert code == ExitCode.BAD_INPUT
    assert f"cannot read folder {folder}: permission denied" in err
