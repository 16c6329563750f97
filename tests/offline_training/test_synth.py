"""Tests for the synthetic SEED-format generator (offline_training.synth) and its CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io
from scipy.signal import welch

from models.eeg import regions
from offline_training import seed, synth, synth_cli

FS = int(seed.SEED_SFREQ)
BANDS = {"delta": (1, 4), "theta": (4, 8), "alpha": (8, 14), "beta": (14, 31), "gamma": (31, 50)}
CH = {name: i for i, name in enumerate(seed.SEED_CHANNELS)}
TEMPORAL = [CH[c] for c in regions.TEMPORAL]
PARIETO_OCCIPITAL = [CH[c] for c in ("P3", "PZ", "P4", "PO3", "POZ", "PO4", "O1", "OZ", "O2")]
PREFRONTAL = [CH[c] for c in ("FP1", "FPZ", "FP2", "AF3", "AF4")]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic SEED/ with subjects 1, 2, 16 x 2 sessions, unequal 2-4 s trials."""
    out = tmp_path_factory.mktemp("synth") / "SEED"
    seconds = [2 + (k % 3) for k in range(15)]
    synth.generate_seed_folder(out, subjects=[1, 2, 16], n_sessions=2, trial_seconds=seconds)
    return out


def _band_logpower(x: np.ndarray) -> dict[str, np.ndarray]:
    """Log band power per 1-s window: x (62, T) uV -> {band: (n_windows, 62)} log uV^2/Hz."""
    n = x.shape[1] // FS
    windows = x[:, : n * FS].reshape(62, n, FS).transpose(1, 0, 2)
    f, p = welch(windows, fs=FS, nperseg=FS, axis=-1)
    return {b: np.log(p[..., (f >= lo) & (f < hi)].mean(-1)) for b, (lo, hi) in BANDS.items()}


@pytest.fixture(scope="module")
def session_20s() -> list[np.ndarray]:
    """The 15 trials of subject 1, session 1, 20 s each, ordered by trial number."""
    return [synth.generate_trial(1, 1, k, 20 * FS + 1, seed=0) for k in range(1, 16)]


def test_folder_layout_and_reader_round_trip(tiny: Path) -> None:
    folder = tiny / "Preprocessed_EEG"
    names = sorted(p.name for p in folder.iterdir())
    assert "label.mat" in names and "readme.txt" in names
    sessions = seed.find_sessions(tiny)
    got = [(s.subject, s.session) for s in sessions]
    assert got == [(1, 1), (1, 2), (2, 1), (2, 2), (16, 1), (16, 2)]
    for s in sessions:
        assert s.path.name == f"{s.subject}_{s.date}.mat"
    assert sessions[0].date < sessions[1].date
    np.testing.assert_array_equal(seed.read_labels(tiny), np.array(seed.SEED_LABELS) + 1)
    trials = seed.read_trials(sessions[0].path)
    assert [t.shape for t in trials] == [(62, FS * (2 + k % 3) + 1) for k in range(15)]


def test_prefixes_keys_and_dtype(tiny: Path) -> None:
    sessions = seed.find_sessions(tiny)
    prefixes = {}
    for s in sessions:
        keys = seed.trial_keys(s.path)
        assert len(keys) == 15
        prefix = keys[0].rsplit("_eeg", 1)[0]
        assert keys == [f"{prefix}_eeg{k}" for k in range(1, 16)]
        prefixes.setdefault(s.subject, set()).add(prefix)
    assert prefixes == {1: {"djc"}, 2: {"jl"}, 16: {"djc2"}}
    data = scipy.io.loadmat(sessions[0].path)
    assert data["djc_eeg1"].dtype == np.float64 and data["djc_eeg1"].shape == (62, 2 * FS + 1)


def test_headers_and_readme_say_synthetic(tiny: Path) -> None:
    folder = tiny / "Preprocessed_EEG"
    for path in folder.glob("*.mat"):
        header = scipy.io.loadmat(path, variable_names=["label"])["__header__"]
        assert b"SYNTHETIC" in header and b"sicleer-synth" in header and b"not SEED" in header
    readme = (folder / "readme.txt").read_text()
    assert "SYNTHETIC" in readme and "NOT the SEED dataset" in readme


def test_label_file_content(tiny: Path) -> None:
    label = scipy.io.loadmat(tiny / "Preprocessed_EEG" / "label.mat")["label"]
    assert label.shape == (1, 15)
    assert label.ravel().tolist() == list(seed.SEED_LABELS)


def test_deterministic_for_a_seed(tmp_path: Path) -> None:
    kwargs = {"subjects": [3], "n_sessions": 1, "trial_seconds": 2, "seed": 7}
    first = synth.generate_seed_folder(tmp_path / "a", **kwargs)
    second = synth.generate_seed_folder(tmp_path / "b", **kwargs)
    assert [p.name for p in first] == [p.name for p in second]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes()  # no timestamps: whole files are identical
    x1 = synth.generate_trial(3, 1, 5, 401, seed=7)
    assert np.array_equal(x1, synth.generate_trial(3, 1, 5, 401, seed=7))


def test_different_seeds_sessions_subjects_differ() -> None:
    base = synth.generate_trial(1, 1, 1, 401, seed=0)
    for other in (
        synth.generate_trial(1, 1, 1, 401, seed=1),
        synth.generate_trial(1, 2, 1, 401, seed=0),
        synth.generate_trial(2, 1, 1, 401, seed=0),
        synth.generate_trial(1, 1, 2, 401, seed=0),
    ):
        assert not np.allclose(base, other)
    assert synth.session_dates(1, 3, seed=0) != synth.session_dates(1, 3, seed=1)


def test_session_dates_increase() -> None:
    for subject in (1, 5, 15, 30):
        dates = synth.session_dates(subject, 3)
        assert len(set(dates)) == 3 and dates == sorted(dates)
        assert all(len(d) == 8 and d.isdigit() for d in dates)


def test_subject_prefix() -> None:
    assert synth.subject_prefix(1) == "djc" and synth.subject_prefix(15) == "zjy"
    assert synth.subject_prefix(16) == "djc2" and synth.subject_prefix(31) == "djc3"
    assert len({synth.subject_prefix(s) for s in range(1, 46)}) == 45
    with pytest.raises(ValueError):
        synth.subject_prefix(0)


def test_microvolt_scale_blinks_alpha_and_mains(session_20s: list[np.ndarray]) -> None:
    x = session_20s[1]
    assert x.shape == (62, 20 * FS + 1) and x.dtype == np.float64
    assert np.isfinite(x).all()
    std = x.std(axis=1)
    assert 5 < np.median(std) < 60  # tens of microvolts
    fp = np.abs(x[CH["FPZ"]] - np.median(x[CH["FPZ"]]))
    assert fp.max() > 100  # eye blinks
    assert np.abs(x[CH["OZ"]]).max() < fp.max() / 2
    f, p = welch(x, fs=FS, nperseg=2 * FS)
    oz = p[CH["OZ"]]
    alpha_peak = f[(f > 6) & (f < 14)][np.argmax(oz[(f > 6) & (f < 14)])]
    assert 8 <= alpha_peak <= 12.5
    i50 = np.argmin(np.abs(f - 50))
    ratio = p[:, i50] / p[:, i50 - 6]  # 50 Hz mains vs the background at 47 Hz
    assert (ratio > 2).mean() > 0.9 and np.median(ratio) > 10, ratio


def _mean_logpower(trials: list[np.ndarray], label: int, band: str, channels: list[int]) -> float:
    picked = [t for t, lab in zip(trials, seed.SEED_LABELS, strict=True) if lab == label]
    return float(np.mean([_band_logpower(t)[band][:, channels].mean() for t in picked]))


def test_emotion_effects_follow_known_facts(session_20s: list[np.ndarray]) -> None:
    pos, neu, neg = 1, 0, -1
    for band in ("beta", "gamma"):
        t_pos = _mean_logpower(session_20s, pos, band, TEMPORAL)
        assert t_pos > _mean_logpower(session_20s, neu, band, TEMPORAL) + 0.1
    po_neu = _mean_logpower(session_20s, neu, "alpha", PARIETO_OCCIPITAL)
    assert po_neu > _mean_logpower(session_20s, neg, "alpha", PARIETO_OCCIPITAL) + 0.1
    po_neg = _mean_logpower(session_20s, neg, "delta", PARIETO_OCCIPITAL)
    assert po_neg > _mean_logpower(session_20s, neu, "delta", PARIETO_OCCIPITAL) + 0.1
    pf_neg = _mean_logpower(session_20s, neg, "gamma", PREFRONTAL)
    assert pf_neg > _mean_logpower(session_20s, neu, "gamma", PREFRONTAL) + 0.1


def test_learnable_but_not_trivial(session_20s: list[np.ndarray]) -> None:
    """Nearest class mean on z-scored log band powers: train trials 1-9, test trials 10-15."""
    feats, labels, trial_of = [], [], []
    for k, x in enumerate(session_20s, start=1):
        bp = _band_logpower(x)
        f = np.concatenate([bp[b] for b in BANDS], axis=1)  # (n_windows, 62 * 5)
        feats.append(f)
        labels += [seed.SEED_LABELS[k - 1] + 1] * len(f)
        trial_of += [k] * len(f)
    X, y, trial = np.concatenate(feats), np.array(labels), np.array(trial_of)
    train = trial <= 9
    mu, sd = X[train].mean(0), X[train].std(0) + 1e-9
    Z = (X - mu) / sd
    means = np.stack([Z[train & (y == c)].mean(0) for c in range(3)])
    pred = ((Z[~train, None, :] - means[None]) ** 2).sum(-1).argmin(1)
    acc = float((pred == y[~train]).mean())
    assert 0.55 < acc < 0.99, acc


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    kwargs = {"subjects": [1], "n_sessions": 1, "trial_seconds": 1}
    synth.generate_seed_folder(tmp_path, **kwargs)
    with pytest.raises(FileExistsError, match="overwrite"):
        synth.generate_seed_folder(tmp_path, **kwargs)
    written = synth.generate_seed_folder(tmp_path, seed=5, overwrite=True, **kwargs)
    assert len(seed.find_sessions(tmp_path)) == 1  # the earlier seed's file (other date) is gone
    assert written[0].exists()
    foreign = tmp_path / "Preprocessed_EEG" / "9_20130101.mat"
    scipy.io.savemat(foreign, {"x_eeg1": np.zeros((62, 3))})
    with pytest.raises(FileExistsError, match=r"9_20130101\.mat"):
        synth.generate_seed_folder(tmp_path, overwrite=True, **kwargs)
    assert foreign.exists()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_sessions": 4},
        {"n_sessions": 0},
        {"subjects": [0]},
        {"subjects": [1, 1]},
        {"trial_seconds": [2] * 14},
        {"trial_seconds": -1},
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict) -> None:
    args = {"subjects": [1], "n_sessions": 1, "trial_seconds": 1} | kwargs
    with pytest.raises(ValueError):
        synth.generate_seed_folder(tmp_path, **args)


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "SEED"
    argv = [str(out), "--subjects", "2,4", "--sessions", "1", "--trial-seconds", "1", "--seed", "3"]
    assert synth_cli.main(argv) == 0
    assert "Preprocessed_EEG" in capsys.readouterr().out
    assert [(s.subject, s.session) for s in seed.find_sessions(out)] == [(2, 1), (4, 1)]
    assert synth_cli.main(argv) == 5  # models.exit_codes.ExitCode.OUTPUT
    assert "--force" in capsys.readouterr().err
    assert synth_cli.main([*argv, "--force"]) == 0
    lengths = ",".join(str(1 + k % 2) for k in range(15))
    assert synth_cli.main([str(tmp_path / "b"), "--subjects", "1", "--sessions", "1",
                           "--trial-seconds", lengths]) == 0  # fmt: skip
    trials = seed.read_trials(seed.find_sessions(tmp_path / "b")[0].path)
    assert [t.shape[1] for t in trials] == [FS * (1 + k % 2) + 1 for k in range(15)]


def test_cli_argument_parsing() -> None:
    assert synth_cli.parse_subjects("1-3") == [1, 2, 3]
    assert synth_cli.parse_subjects("1,4,7") == [1, 4, 7]
    assert synth_cli.parse_subjects("2-3,1,3") == [1, 2, 3]  # one parser: sorted, distinct
    assert synth_cli.parse_trial_seconds("30") == 30.0
    assert synth_cli.parse_trial_seconds(",".join(["5"] * 15)) == [5.0] * 15
    for bad in ("", "a", "3-1", "0-2"):
        with pytest.raises(Exception, match="invalid subjects"):
            synth_cli.parse_subjects(bad)
    for bad in ("x", "1,2", "0"):
        with pytest.raises(Exception, match="invalid trial seconds"):
            synth_cli.parse_trial_seconds(bad)
    with pytest.raises(SystemExit) as info:
        synth_cli.main(["out", "--subjects", "zero"])
    assert info.value.code == 2
    defaults = synth_cli.build_parser().parse_args(["out"])
    assert defaults.subjects == list(range(1, 16)) and defaults.sessions == 3
    assert defaults.trial_seconds == list(seed.TRIAL_SECONDS) and defaults.seed == 0
