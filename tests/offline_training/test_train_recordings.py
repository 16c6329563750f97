"""``sicleer-train`` on a lab's labelled recordings: montage, classes, the live signal chain,
trial-level protocols, the model file, and the errors (issue 10, trainer side).

Every recording is written here in ``tmp_path`` (FIF through MNE, EEGLAB ``.set`` through
eeglabio, XDF through :mod:`tests.helpers_xdf`); each trial carries a rhythm whose frequency
depends on its class. The end-to-end test on the shared eegmmidb files skips when they are
absent. Times in docstrings: the 2-core development machine, idle (then, while benchmarks
ran).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import mne
import numpy as np
import pytest

from bci_app.signal.filters import make_live_filter
from bci_app.signal.pipeline import LivePipeline
from models.eeg.markers import trial_marker
from models.exit_codes import ExitCode
from models.metadata import read_metadata
from models.preprocessing import FilterSpec
from offline_training.baseline import CSPLDA
from offline_training.cli import main as train_main
from offline_training.config import TrainConfig
from offline_training.protocols import make_folds
from offline_training.recording_data import RecordingSession, load_recordings
from offline_training.signal_chain import SignalChain
from tests.helpers import shared_data
from tests.helpers_xdf import eeg_stream, marker_stream, write_xdf
from tests.offline_training.test_recordings import TEN_TWENTY_32

SFREQ = 128.0
RHYTHM_HZ = {"calm": 7.0, "joy": 13.0, "fear": 21.0}
"""Frequency of the rhythm that trials of each class carry."""
TINY = ["--epochs", "2", "--min-steps", "0", "--hidden-dims", "8", "--output-dims", "16",
        "--batch-size", "32", "--occlusion-windows", "0", "-q"]
EEGMMIDB = shared_data("eegmmidb_S001")


def rhythm(labels: Sequence[str], n_channels: int = 8, *, trial_s: float = 3.0,
           gap_s: float = 1.0, lead_s: float = 2.0, sfreq: float = SFREQ,
           seed: int = 0) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """A recording of trials ``labels`` in that order: (data (n_channels, n) µV, annotations
    ``(onset s, duration s, "stim_<label>")``). Trial ``k`` starts at ``lead_s + k * (trial_s
    + gap_s)``; during it every channel carries a 15 µV sine at ``RHYTHM_HZ[label]`` (random
    phase per channel) over 5 µV of noise."""
    rng = np.random.default_rng(seed)
    n = round((lead_s + len(labels) * (trial_s + gap_s) + 1.0) * sfreq)
    data = rng.normal(0.0, 5.0, (n_channels, n))
    annotations = []
    for k, label in enumerate(labels):
        onset = lead_s + k * (trial_s + gap_s)
        first, count = round(onset * sfreq), round(trial_s * sfreq)
        t = np.arange(count) / sfreq
        phase = rng.uniform(0, 2 * np.pi, (n_channels, 1))
        data[:, first:first + count] += 15.0 * np.sin(2 * np.pi * RHYTHM_HZ[label] * t + phase)
        annotations.append((onset, trial_s, f"stim_{label}"))
    return data, annotations


def write_fif(path: Path, labels: Sequence[str], names: Sequence[str] = TEN_TWENTY_32[:8],
              types: Sequence[str] | None = None, **kw: float) -> Path:
    """:func:`rhythm` saved as FIF (channel types ``types``, default all EEG)."""
    data, annotations = rhythm(labels, len(names), **kw)
    info = mne.create_info(list(names), SFREQ, list(types or ["eeg"] * len(names)))
    raw = mne.io.RawArray(data * 1e-6, info, verbose="error")
    onsets, durations, texts = zip(*annotations, strict=True)
    raw.set_annotations(mne.Annotations(onsets, durations, texts))
    raw.save(path, overwrite=True, verbose="error")
    return path


def write_set(path: Path, labels: Sequence[str]) -> tuple[Path, np.ndarray]:
    """:func:`rhythm` on the 32 standard channels, 128 Hz, as an EEGLAB ``.set`` file."""
    import eeglabio.raw

    data, annotations = rhythm(labels, 32)
    onsets, durations, texts = zip(*annotations, strict=True)
    eeglabio.raw.export_set(str(path), data * 1e-6, SFREQ, list(TEN_TWENTY_32),
                            ch_types=["EEG"] * 32,
                            annotations=[list(texts), np.array(onsets), np.array(durations)])
    return path, data


def write_xdf_convention(path: Path, labels: Sequence[str], seed: int = 0) -> Path:
    """:func:`rhythm` as an XDF file whose trials are announced with the project's own
    ``trial N start|end <label>`` markers (no label map needed)."""
    data, annotations = rhythm(labels, 8, seed=seed)
    t0, times, texts = 1000.0, [], []
    for number, (onset, duration, _) in enumerate(annotations, start=1):
        label = labels[number - 1]
        first, last = round(onset * SFREQ), round((onset + duration) * SFREQ) - 1
        times += [t0 + first / SFREQ, t0 + last / SFREQ]
        texts += [trial_marker(number, "start", label), trial_marker(number, "end", label)]
    return write_xdf(path, [eeg_stream(data, SFREQ, t0, names=TEN_TWENTY_32[:8]),
                            marker_stream(times, texts)])


def _train(*args: str | Path) -> tuple[int, str, str]:
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = train_main([str(a) for a in args])
    assert "Traceback" not in err.getvalue()
    return code, out.getvalue(), err.getvalue()


ALTERNATING = ["calm", "joy"] * 5


# --------------------------------------------------------------------- the model file


def test_set_file_gives_its_32_channels_label_map_classes_and_the_applied_chain(
        tmp_path: Path) -> None:
    """A 32-channel 128 Hz .set file, one subject-dependent fold plus export (5 s; 35-50 s)."""
    path, data = write_set(tmp_path / "P03_emotion.set", ALTERNATING)
    out, model = tmp_path / "run", tmp_path / "model.safetensors"
    code, stdout, _ = _train("--data", path, "--labels", "stim_joy=joy,stim_calm=calm",
                             "--out", out, "--export", model, *TINY[:-1])
    assert code == ExitCode.OK
    assert "subject-dependent: classes joy, calm; chance (1/2) 50.00 %" in stdout
    meta = read_metadata(model)
    assert meta.channel_names == TEN_TWENTY_32 and meta.config.n_channels == 32
    assert meta.class_names == ["joy", "calm"]  # the label map's order, not the file's
    assert meta.sfreq == SFREQ and meta.window_samples == 128
    applied = FilterSpec().at_rate(SFREQ)  # 75 Hz is above 0.9 x Nyquist at 128 Hz
    assert applied == FilterSpec(0.5, 0.9 * 64.0, 50.0, 4, 30.0)
    assert meta.preprocessing.filters == applied
    assert meta.preprocessing.normalisation.std.shape == (32,)
    assert meta.provenance.label_map == {"stim_joy": "joy", "stim_calm": "calm"}
    assert [t["label"] for t in meta.provenance.trials] == ALTERNATING
    report = json.loads((out / "report.json").read_text())
    assert report["data"]["preprocessing"]["filters"] == applied.to_dict()
    assert report["data"]["format"] == "recordings" and report["class_names"] == ["joy", "calm"]
    fold = report["folds"][0]
    assert (fold["train_trials"], fold["test_trials"]) == (6, 4)  # 60 % of 10 trials by time
    # what the file declares is what the windows went through: the live filter built from
    # the recorded spec, run over the whole recording, gives the cached windows
    f = meta.preprocessing.filters
    live = make_live_filter(meta.sfreq, f.l_freq, f.h_freq, f.notch, n_channels=32,
                            order=f.order, notch_q=f.notch_q).process(data.T).T
    x = np.load(next((out / "cache" / "recordings").rglob("*.x.npy")))
    onset = round(2.0 * SFREQ)  # the first trial, after the 1-s warm-up
    np.testing.assert_allclose(x[0], live[:, onset:onset + 128], atol=2e-3)
    md = (out / "report.md").read_text()
    assert "Chance level (1/2): 50.00 %" in md and "Accuracy (subject-dependent)" in md
    assert "per recording: the first 60 % of its trials by time train" in md


@pytest.mark.parametrize(("options", "sfreq", "filters"), [
    (["--sfreq", "100", "--l-freq", "1", "--h-freq", "40", "--notch", "off",
      "--filter-order", "2"], 100.0, FilterSpec(1.0, 40.0, None, 2)),
    (["--l-freq", "off", "--notch", "60"], SFREQ, FilterSpec(None, 0.9 * 64.0, 60.0, 4)),
    (["--no-filter"], SFREQ, None),
], ids=["resampled", "low-pass", "no-filter"])
def test_the_chain_options_decide_what_is_applied(
        tmp_path: Path, options: list[str], sfreq: float, filters: FilterSpec | None) -> None:
    """The command line's resampling and filter options, as the run sees them (no training)."""
    from offline_training.cli import build_parser
    from offline_training.dataset import load_data

    path = write_fif(tmp_path / "rec_raw.fif", ALTERNATING)
    args = vars(build_parser().parse_args(["--data", str(path), "--out", str(tmp_path / "o"),
                                           "--labels", "/^stim_calm/=calm,/^stim_joy/=joy",
                                           *options]))
    del args["quiet"]
    data = load_data(TrainConfig(**args))
    assert data.sfreq == sfreq and data.window == round(sfreq)
    assert data.filters == filters
    assert data.describe()["preprocessing"]["filters"] == (filters.to_dict() if filters
                                                           else None)
    assert data.channels == TEN_TWENTY_32[:8] and data.class_names == ["calm", "joy"]


def test_no_filter_writes_a_model_file_without_a_chain(tmp_path: Path) -> None:
    """``--no-filter``: the model file says ``filters: null`` (one fold and an export)."""
    path = write_fif(tmp_path / "rec_raw.fif", ALTERNATING)
    model = tmp_path / "m.safetensors"
    code, _, _ = _train("--data", path, "--labels", "stim_calm=calm,stim_joy=joy",
                        "--out", tmp_path / "o", "--export", model, "--no-filter", *TINY)
    assert code == ExitCode.OK
    meta = read_metadata(model)
    assert meta.preprocessing.filters is None and meta.sfreq == SFREQ


# --------------------------------------------------------------------- protocols


def _session(name: str, subject: str, labels: Sequence[str]) -> RecordingSession:
    return RecordingSession(Path(f"/data/{name}.fif"), subject, name, f"{subject}_{name}",
                            tuple(labels))


def test_subject_dependent_splits_each_recording_by_trial_and_time(tmp_path: Path) -> None:
    rec = _session("r1", "P1", ["calm", "joy", "fear"] * 4)
    (fold,) = make_folds([rec], "subject-dependent", 0.6)
    assert fold.train == [(rec, tuple(range(1, 8)))]  # round(0.6 * 12) = 7 earliest trials
    assert fold.test == [(rec, tuple(range(8, 13)))]
    (fold,) = make_folds([rec], "subject-dependent", 0.75)
    assert fold.train[0][1] == tuple(range(1, 10))
    early = _session("r2", "P1", ["calm"] * 3 + ["joy"] * 5)
    with pytest.raises(ValueError, match=r"r2\.fif: the subject-dependent split \(the first 5 of "
                                         r"8 trials.*leaves the test side.*training trials per "
                                         r"class \{calm: 3, joy: 2\}, test \{calm: 0, joy: 3\}"
                       ) as info:
        make_folds([early], "subject-dependent", 0.6)
    assert "--train-fraction" in str(info.value)
    late = _session("r3", "P1", ["calm"] * 5 + ["joy", "calm", "joy"])
    with pytest.raises(ValueError, match=r"r3\.fif.*leaves the training side.*\{calm: 5, joy: "
                                         r"0\}, test \{calm: 1, joy: 2\}"):
        make_folds([late], "subject-dependent", 0.6)


def test_windows_of_a_trial_stay_on_one_side_and_training_trials_come_first(
        tmp_path: Path) -> None:
    """The prepared windows (no training): every window of a trial is on one side, and all
    training trials start before every test trial."""
    path = write_fif(tmp_path / "rec_raw.fif", ALTERNATING)
    cfg = TrainConfig(data=path, out=tmp_path / "o", labels="stim_calm=calm,stim_joy=joy",
                      stride_seconds=0.5)
    plan, store = load_recordings(cfg, [path])
    (fold,) = make_folds(plan.sessions, "subject-dependent", cfg.train_fraction)
    train, test = store.pool(fold.train), store.pool(fold.test)
    assert len(train) and len(test)
    assert not set(train.trial_key.tolist()) & set(test.trial_key.tolist())
    onsets = {t["trial"]: t["onset"] for t in plan.trials}
    train_numbers = {k % 1_000_000 for k in train.trial_key.tolist()}
    test_numbers = {k % 1_000_000 for k in test.trial_key.tolist()}
    assert max(onsets[k] for k in train_numbers) < min(onsets[k] for k in test_numbers)
    assert len(train) + len(test) == sum(t["windows"] for t in plan.trials) == 10 * 5


def test_cross_session_and_loso_fold_counts() -> None:
    a1, a2 = _session("a1", "A", ["calm", "joy"]), _session("a2", "A", ["joy", "calm"])
    b1, b2 = _session("b1", "B", ["calm", "joy"]), _session("b2", "B", ["calm", "joy"])
    cross = make_folds([a1, a2, b1, b2], "cross-session")
    assert [f.name for f in cross] == ["A_a1", "A_a2", "B_b1", "B_b2"]
    assert cross[0].train == [(a2, (1, 2))] and cross[0].test == [(a1, (1, 2))]
    assert [f.session for f in cross] == ["a1", "a2", "b1", "b2"]
    loso = make_folds([a1, a2, b1, b2], "loso")
    assert [(f.name, f.subject, f.session) for f in loso] == [("sub-A", "A", None),
                                                              ("sub-B", "B", None)]
    assert [s for s, _ in loso[0].train] == [b1, b2] and [s for s, _ in loso[0].test] == [a1, a2]
    with pytest.raises(ValueError, match=r"cross-session needs at least 2 sessions of subject "
                                         r"B, found 1.*b1\.fif: B"):
        make_folds([a1, a2, b1], "cross-session")
    with pytest.raises(ValueError, match=r"at least 2 subjects, got \['A'\].*--subject"):
        make_folds([a1, a2], "loso")


def test_loso_on_xdf_files_with_the_projects_own_markers(tmp_path: Path) -> None:
    """Two LabRecorder-named XDF files of two subjects, no --labels: the classes come from the
    'trial N start <label>' markers in order of first appearance (two folds, each in its own
    process: 9 s; 35-60 s)."""
    labels = ["joy", "fear", "calm"] * 3
    for subject, seed in (("P1", 0), ("P2", 1)):
        write_xdf_convention(tmp_path / f"sub-{subject}_ses-S001_task-emo_run-001_eeg.xdf",
                             labels, seed)
    out = tmp_path / "loso"
    code, stdout, _ = _train("--data", tmp_path, "--protocol", "loso", "--out", out, *TINY[:-1])
    assert code == ExitCode.OK, stdout
    report = json.loads((out / "report.json").read_text())
    assert report["class_names"] == ["joy", "fear", "calm"]
    assert [(f["name"], f["subject"], f["session"]) for f in report["folds"]] == [
        ("sub-P1", "P1", None), ("sub-P2", "P2", None)]
    assert all(f["test_trials"] == 9 and f["train_trials"] == 9 for f in report["folds"])
    assert report["summary"]["chance"] == pytest.approx(1 / 3)
    assert "loso: classes joy, fear, calm; chance (1/3) 33.33 %" in stdout
    assert all(0 <= f["baseline"]["accuracy"] <= 1 for f in report["folds"])


# --------------------------------------------------------------------- the signal chain


def test_the_offline_chain_equals_the_live_pipeline() -> None:
    """Resampling 160 -> 128 Hz and filtering a whole recording at once gives what the live
    pipeline gives chunk by chunk (the same code, the same start)."""
    rng = np.random.default_rng(3)
    x = rng.normal(0, 20, (4, 1600)) + 300.0  # 10 s with a DC offset, µV
    chain = SignalChain(128.0, FilterSpec())
    done = chain.apply(x, 160.0)
    names = ["Fz", "Cz", "Pz", "Oz"]
    live = LivePipeline(names, None, 160.0, names, 128.0, FilterSpec())
    parts = [live.process(x[:, i:i + 37].T, 1000.0 + np.arange(i, min(i + 37, 1600)) / 160.0)
             for i in range(0, 1600, 37)]
    online = np.concatenate([p.samples for p in parts]).T
    assert online.shape == done.data.shape
    np.testing.assert_allclose(done.data, online, rtol=1e-5, atol=1e-3)
    assert done.delay == pytest.approx(live.resampler.group_delay)
    assert done.start == int(np.ceil(live.warmup_seconds * 128.0 - 1e-9))


@pytest.mark.parametrize("sfreq", [100.0, 128.0, 160.0, 200.0, 250.0, 1000.0])
def test_filter_spec_at_rate_builds_the_same_filter(sfreq: float) -> None:
    """What the model file records (the spec at the model's rate) rebuilds the very filter."""
    spec = FilterSpec()
    asked = make_live_filter(sfreq, spec.l_freq, spec.h_freq, spec.notch, n_channels=1)
    at = spec.at_rate(sfreq)
    recorded = make_live_filter(sfreq, at.l_freq, at.h_freq, at.notch, n_channels=1,
                                order=at.order, notch_q=at.notch_q)
    np.testing.assert_array_equal(asked.sos, recorded.sos)
    assert (at.notch is None) == (spec.notch >= 0.99 * sfreq / 2)


def test_trials_inside_the_warm_up_lose_their_start_and_short_ones_are_skipped(
        tmp_path: Path) -> None:
    """The first trial starts at 0 s: its windows begin after the ~1-s warm-up; a 0.5-s trial
    (shorter than the 1-s window) is skipped with a note."""
    path = write_fif(tmp_path / "rec_raw.fif", ["calm", "joy"] * 3, lead_s=0.0)
    fif = mne.io.read_raw_fif(path, preload=True, verbose="error")
    onsets, durations = list(fif.annotations.onset), list(fif.annotations.duration)
    durations[3] = 0.5  # trial 4 (joy) becomes too short
    fif.set_annotations(mne.Annotations(onsets, durations, list(fif.annotations.description)))
    fif.save(path, overwrite=True, verbose="error")
    cfg = TrainConfig(data=path, out=tmp_path / "o", labels="stim_calm=calm,stim_joy=joy")
    plan, _ = load_recordings(cfg, [path])
    warm = SignalChain(SFREQ, FilterSpec()).warmup_seconds()
    assert 0.5 < warm < 1.5
    assert [t["onset"] for t in plan.trials] == [0.0, 4.0, 8.0, 16.0, 20.0]  # 12 s dropped
    assert [t["windows"] for t in plan.trials] == [int(3 - warm), 3, 3, 3, 3]
    notes = " ".join(plan.notes)
    assert "1 trial starts inside the first" in notes and "loses its first part" in notes
    assert "1 trial shorter than one window (1 s) after the warm-up is skipped: joy at " \
           "12.00 s (0.50 s)" in notes


def test_seed_trials_are_filtered_each_from_its_first_sample(seed_session_file: Path) -> None:
    """SEED: each trial on its own through the chain, windows after the warm-up."""
    from offline_training.data import session_windows
    from offline_training.seed import find_sessions, read_labels, read_trials

    root = seed_session_file.parent
    chain = SignalChain(200.0, FilterSpec())
    sw = session_windows(find_sessions(root)[0], read_labels(root), 200, 200, chain)
    trial = read_trials(seed_session_file, [2])[0]  # 601 samples
    live = make_live_filter(200.0, n_channels=62).process(trial.T).T
    start = int(np.ceil(chain.warmup_seconds() * 200 - 1e-9))
    assert (sw.trial == 2).sum() == (601 - start) // 200
    np.testing.assert_allclose(sw.x[sw.trial == 2][0], live[:, start:start + 200], atol=2e-3)


def test_csp_lda_baseline_separates_four_classes() -> None:
    """One-vs-rest CSP + LDA on K = 4 classes, each a rhythm on its own channel pair."""
    rng = np.random.default_rng(0)
    n, t = 160, np.arange(128) / 128.0
    y = np.arange(n) % 4
    x = rng.normal(0, 1, (n, 8, 128))
    for c in range(4):
        x[y == c, 2 * c: 2 * c + 2] += 4 * np.sin(2 * np.pi * 12 * t)
    model = CSPLDA(128.0).fit(x[:120], y[:120])
    assert model.classes_.tolist() == [0, 1, 2, 3] and model.filters_.shape == (8, 24)
    assert (model.predict(x[120:]) == y[120:]).mean() > 0.9


def test_the_trial_marker_convention_lives_in_models() -> None:
    from bci_app.lsl import protocol
    from models.eeg import markers

    for name in ("TRIAL_MARKER", "trial_marker", "EEG_TYPE", "MARKER_TYPE", "marker_name"):
        assert getattr(protocol, name) is getattr(markers, name), name
    assert set(markers.__all__) <= set(protocol.__all__)


# --------------------------------------------------------------------- errors


def _error(tmp_path: Path, *args: str | Path) -> tuple[int, str]:
    code, _, err = _train(*args, "--out", tmp_path / "out", *TINY)
    assert not (tmp_path / "out" / "folds").exists()  # refused before any training
    return code, err


def test_a_label_map_that_matches_nothing_lists_the_files_descriptions(tmp_path: Path) -> None:
    path = write_fif(tmp_path / "rec_raw.fif", ALTERNATING)
    code, err = _error(tmp_path, "--data", path, "--labels", "T1=fists,T2=feet")
    assert code == ExitCode.BAD_INPUT
    assert str(path) in err and "matches none of the file's annotations" in err
    assert "'stim_calm', 'stim_joy'" in err


def test_a_recording_without_trials_of_a_class_is_named(tmp_path: Path) -> None:
    good = write_fif(tmp_path / "a_raw.fif", ALTERNATING)
    calm_only = write_fif(tmp_path / "b_raw.fif", ["calm"] * 4)
    code, err = _error(tmp_path, "--data", good, calm_only, "--labels",
                       "stim_calm=calm,stim_joy=joy", "--protocol", "cross-session")
    assert code == ExitCode.BAD_INPUT
    assert str(calm_only) in err and "no trial of class 'joy'" in err
    xdf_a = write_xdf_convention(tmp_path / "x1.xdf", ["calm", "joy"] * 2)
    xdf_b = write_xdf_convention(tmp_path / "x2.xdf", ["joy"] * 3)
    code, err = _error(tmp_path, "--data", xdf_a, xdf_b)
    assert code == ExitCode.BAD_INPUT
    assert f"{xdf_b}: no trial of class 'calm'" in err and "'joy': 3" in err


@pytest.mark.parametrize("case", ["unknown ending", "no EEG", "no labels", "all too short",
                                  "mixed with SEED", "split"])
def test_bad_recordings_are_refused_with_one_clear_message(
        case: str, tmp_path: Path, seed_folder: Path) -> None:
    labels = ["--labels", "stim_calm=calm,stim_joy=joy"]
    if case == "unknown ending":
        path = tmp_path / "rec.txt"
        path.write_text("not EEG")
        args, code, expected = ([path, *labels], ExitCode.BAD_INPUT,
                                "unknown recording format '.txt'")
    elif case == "no EEG":
        path = write_fif(tmp_path / "eog_raw.fif", ALTERNATING, names=["HEOG", "VEOG"],
                         types=["eog", "eog"])
        args, code, expected = [path, *labels], ExitCode.BAD_INPUT, "no EEG channel"
    elif case == "no labels":
        path = write_fif(tmp_path / "rec_raw.fif", ALTERNATING)
        args, code, expected = [path], ExitCode.BAD_INPUT, "--labels must say which annotations"
    elif case == "all too short":
        path = write_fif(tmp_path / "rec_raw.fif", ALTERNATING, trial_s=0.75)
        args, code, expected = ([path, *labels], ExitCode.BAD_INPUT,
                                "every trial is shorter than one window (1 s = 128 samples")
    elif case == "mixed with SEED":
        path = write_fif(tmp_path / "rec_raw.fif", ALTERNATING)
        args, code, expected = ([seed_folder, path], ExitCode.USAGE,
                                "--data mixes SEED folders")
    else:
        path = write_fif(tmp_path / "rec_raw.fif", ["calm"] * 5 + ["joy"] * 5)
        args, code, expected = [path, *labels], ExitCode.USAGE, "subject-dependent split"
    got, err = _error(tmp_path, "--data", *args)
    assert got == code, err
    assert expected in err and str(path) in err


# --------------------------------------------------------------------- real EEG


@pytest.mark.skipif(not (EEGMMIDB / "S001R10.edf").is_file(),
                    reason="shared eegmmidb_S001 data not present")
def test_eegmmidb_fists_against_feet_cross_session(tmp_path: Path) -> None:
    """The README's example on PhysioNet's S001 runs 6 and 10 (imagined fists / feet), two
    folds in their own processes (9 s; 55-70 s)."""
    out = tmp_path / "fists-feet"
    code, stdout, _ = _train("--data", EEGMMIDB / "S001R06.edf", EEGMMIDB / "S001R10.edf",
                             "--labels", "T1=fists,T2=feet", "--protocol", "cross-session",
                             "--out", out, *TINY[:-1], "--epochs", "1")
    assert code == ExitCode.OK
    report = json.loads((out / "report.json").read_text())
    assert report["class_names"] == ["fists", "feet"]
    assert [f["name"] for f in report["folds"]] == ["eegmmidb_S001_S001R06",
                                                    "eegmmidb_S001_S001R10"]
    assert [f["test_trials"] for f in report["folds"]] == [15, 15]
    assert len(report["data"]["channels"]) == 64 and report["data"]["sfreq"] == 160.0
    assert report["data"]["preprocessing"]["filters"]["h_freq"] == pytest.approx(72.0)
    assert "cross-session: classes fists, feet; chance (1/2) 50.00 %" in stdout
    assert "cross-session: CSP + LDA on the same windows" in stdout
