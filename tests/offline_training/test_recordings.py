"""offline_training.recordings: label maps, the trial rules, finding recordings, and the errors
every format shares. Format-specific tests: ``test_recordings_mne.py`` (FIF, EDF, BDF, EEGLAB,
BrainVision, BIDS, the eegmmidb files) and ``test_recordings_xdf.py``.

The builders here (:func:`make_raw`, :func:`save_fif`) are shared with those modules."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import mne
import numpy as np
import pytest

from offline_training.recordings import (
    RECORDING_SUFFIXES,
    RecordingError,
    find_recordings,
    parse_label_map,
    read_recording,
)
from offline_training.recordings.base import Event
from offline_training.recordings.trials import build_trials
from tests.helpers import REPO_ROOT

SFREQ = 128.0
AMPLITUDE_UV = 50.0
"""Amplitude of the 10 Hz sine on the first channel of :func:`make_raw` (µV)."""
TEN_TWENTY_32 = [
    "Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "FC5", "FC1", "FC2", "FC6", "T7", "C3", "Cz",
    "C4", "T8", "TP9", "CP5", "CP1", "CP2", "CP6", "TP10", "P7", "P3", "Pz", "P4", "P8", "PO9",
    "O1", "Oz", "O2", "PO10",
]  # fmt: skip
"""32 standard 10-20 channel names."""


def signals_uv(n_channels: int, seconds: float = 20.0, sfreq: float = SFREQ,
               seed: int = 0) -> np.ndarray:
    """(n_channels, n_samples) float64 µV: row 0 a pure 10 Hz sine of 50 µV amplitude (its
    peak falls on a sample at 128 Hz), the other rows Gaussian noise of 5 µV."""
    n = round(seconds * sfreq)
    data = np.random.default_rng(seed).normal(0.0, 5.0, (n_channels, n))
    if n_channels:
        data[0] = AMPLITUDE_UV * np.sin(2 * np.pi * 10.0 * np.arange(n) / sfreq)
    return data


def make_raw(annotations: Sequence[tuple[float, float, str]] = (), *,
             eeg: Sequence[str] = TEN_TWENTY_32[:8], extra: Sequence[tuple[str, str]] = (),
             seconds: float = 20.0, first_samp: int = 0, meas_date: bool = True,
             subject_id: str | None = None) -> tuple[mne.io.RawArray, np.ndarray]:
    """A RawArray of ``eeg`` channels plus ``extra`` ``(name, type)`` channels and its data in
    µV; ``annotations`` are ``(onset s from the first sample, duration s, description)``."""
    names = [*eeg, *(name for name, _ in extra)]
    types = ["eeg"] * len(eeg) + [kind for _, kind in extra]
    data = signals_uv(len(names), seconds)
    for row, kind in enumerate(types):
        if kind == "stim":
            data[row] = 0.0
    info = mne.create_info(names, SFREQ, types)
    if subject_id:
        info["subject_info"] = {"his_id": subject_id}
    scale = np.array([1e-6 if kind != "stim" else 1.0 for kind in types])[:, None]
    raw = mne.io.RawArray(data * scale, info, first_samp=first_samp, verbose="error")
    if meas_date:
        raw.set_meas_date(datetime.datetime(2026, 1, 5, 10, 0, tzinfo=datetime.UTC))
    if annotations:
        onsets, durations, texts = zip(*annotations, strict=True)
        raw.set_annotations(mne.Annotations(onsets, durations, texts, orig_time=None))
    return raw, data


def save_fif(path: Path, annotations: Sequence[tuple[float, float, str]] = (),
             **kwargs: object) -> tuple[Path, np.ndarray]:
    """:func:`make_raw` saved as FIF at ``path``; returns the path and the data in µV."""
    raw, data = make_raw(annotations, **kwargs)  # type: ignore[arg-type]
    raw.save(path, overwrite=True, verbose="error")
    return path, data


# --- label maps ---------------------------------------------------------------------------


def test_label_map_keeps_the_order_given_and_matches_exact_keys_and_regexes() -> None:
    labels = parse_label_map(" T1 = fists , T2=feet ,/^stim_neg.*/=negative, /^a{1,3}$/=feet")
    assert labels.classes == ("fists", "feet", "negative")
    assert labels.match("T1") == "fists"
    assert labels.match(" T2 ") == "feet"  # surrounding spaces of a description are ignored
    assert labels.match("T1 end") is None  # exact keys are exact
    assert labels.match("stim_neg_03") == "negative"
    assert labels.match("aaa") == "feet"  # a regex may hold commas; several keys, one class
    assert labels.match("aaaa") is None
    assert labels.keys_of("feet") == ("T2", "/^a{1,3}$/")
    assert str(parse_label_map("T1=fists,T2=feet")) == "T1=fists,T2=feet"


@pytest.mark.parametrize(("text", "says"), [
    ("", "empty"),
    ("T1", "'T1' has no '='"),
    ("T1=", "non-empty"),
    ("=fists", "non-empty"),
    ("T1=fists,", "empty entry"),
    ("T1=fists,,T2=feet", "empty entry"),
    ("T1=fists,T1=feet", "'T1' is given twice"),
    ("T1=fists T2=feet", "missing a comma"),
    ("/(/=x", "not a valid regular expression"),
    ("/stim_neg=negative", "/regex/=class"),
])  # fmt: skip
def test_label_map_refuses_bad_syntax_with_a_clear_message(text: str, says: str) -> None:
    with pytest.raises(ValueError, match="label map") as info:
        parse_label_map(text)
    assert says in str(info.value)


# --- the trial rules (on events, no file) ---------------------------------------------------


def _trials(events: list[tuple[float, float, str]], labels: str | None = None,
            seconds: float = 100.0):
    return build_trials([Event(*e) for e in events], parse_label_map(labels) if labels else None,
                        sfreq=SFREQ, data_seconds=seconds, source="rec.fif")


def test_annotations_with_a_duration_are_trials_named_by_their_description() -> None:
    trials, notes = _trials([(10.0, 4.0, "T1"), (1.0, 4.0, "T0"), (20.0, 2.0, "BAD_blink"),
                             (30.0, 0.0, "boundary"), (40.0, 1.0, "EDGE boundary")])
    assert [(t.onset, t.duration, t.label) for t in trials] == [(1.0, 4.0, "T0"),
                                                                (10.0, 4.0, "T1")]
    assert notes == []


def test_project_trial_markers_pair_without_a_label_map() -> None:
    """``trial N start <label>`` at the first sample, ``trial N end <label>`` at the last."""
    events = [(2.0, 0.0, "trial 1 start negative"), (5.0, 0.0, "trial 1 end negative"),
              (6.0, 0.0, "trial 2 start positive"), (9.0, 0.0, "trial 2 end positive"),
              (9.5, 0.0, "trial 3 start"), (10.0, 0.0, "trial 3 end"),  # no class word
              (11.0, 0.0, "trial 4 end neutral"),  # no start
              (12.0, 0.0, "trial 5 start neutral")]  # no end
    trials, notes = _trials(events)
    assert [(t.onset, t.duration, t.label, t.description) for t in trials] == [
        (2.0, 3.0 + 1 / SFREQ, "negative", "trial 1 start negative"),
        (6.0, 3.0 + 1 / SFREQ, "positive", "trial 2 start positive")]
    assert any("trial 3 has no class word" in n for n in notes)
    assert any("'trial 4 end neutral'" in n and "no start" in n for n in notes)
    assert any("'trial 5 start neutral'" in n and "no end" in n for n in notes)
    # with a label map, the map is tried on the class word
    trials, _ = _trials(events, "negative=neg,positive=pos")
    assert [t.label for t in trials] == ["neg", "pos"]


def test_zero_duration_events_last_until_the_next_event_with_a_label_map() -> None:
    events = [(1.0, 0.0, "stim_neg_1"), (4.0, 0.0, "rest"), (5.0, 0.0, "stim_pos_1"),
              (7.5, 0.0, "stim_neg_2")]
    trials, _ = _trials(events, "/^stim_neg/=negative,/^stim_pos/=positive", seconds=10.0)
    assert [(t.onset, t.duration, t.label) for t in trials] == [
        (1.0, 3.0, "negative"), (5.0, 2.5, "positive"), (7.5, 2.5, "negative")]  # last: to end


def test_zero_duration_events_without_a_label_map_are_refused_naming_the_descriptions() -> None:
    with pytest.raises(RecordingError, match=r"rec\.fif: no labelled trials") as info:
        _trials([(1.0, 0.0, "stim_neg_1"), (4.0, 0.0, "rest")])
    assert "label map" in str(info.value) and "'stim_neg_1', 'rest'" in str(info.value)


def test_trials_are_clipped_to_the_data_and_those_outside_left_out() -> None:
    trials, notes = _trials([(8.0, 4.0, "T1"), (-2.0, 3.0, "T1"), (12.0, 1.0, "T1")],
                            "T1=x", seconds=10.0)
    assert [(t.onset, t.duration) for t in trials] == [(0.0, 1.0), (8.0, 2.0)]
    assert any("1 trial lies outside" in n and "is left out" in n for n in notes)
    assert any("2 trials reach past the data" in n for n in notes)


def test_label_map_errors_list_the_descriptions_the_file_has() -> None:
    events = [(1.0, 4.0, "T0"), (5.0, 4.0, "T1")]
    with pytest.raises(RecordingError, match=r"rec\.fif: the label map T5=x matches none") as e:
        _trials(events, "T5=x")
    assert "'T0', 'T1'" in str(e.value)
    with pytest.raises(RecordingError, match=r"rec\.fif: no trial of class 'feet' \(keys T2\)"
                       ) as e:
        _trials(events, "T1=fists,T2=feet")
    assert "'T0', 'T1'" in str(e.value)
    with pytest.raises(RecordingError, match=r"rec\.fif: the recording has no annotations"):
        _trials([])


# --- finding recordings -------------------------------------------------------------------


def test_find_recordings_in_a_file_a_folder_and_a_bids_dataset(tmp_path: Path) -> None:
    from mne_bids import BIDSPath, write_raw_bids

    (tmp_path / "flat" / "sub").mkdir(parents=True)
    one, _ = save_fif(tmp_path / "flat" / "a_raw.fif", seconds=2.0)
    (tmp_path / "flat" / ".hidden").mkdir()
    for name in ("sub/b.EDF", "sub/b.edf.event", "notes.txt", ".hidden/c.xdf", "d.vmrk"):
        (tmp_path / "flat" / name).write_bytes(b"")
    assert find_recordings(one) == [one]
    assert find_recordings(tmp_path / "flat") == [one, tmp_path / "flat" / "sub" / "b.EDF"]

    raw, _ = make_raw([(0.5, 1.0, "x")], seconds=2.0)
    root = tmp_path / "bids"
    for run in (1, 2):
        write_raw_bids(raw, BIDSPath(subject="01", session="a", task="emo", run=run, root=root,
                                     datatype="eeg"),
                       allow_preload=True, format="BrainVision", verbose="error")
    (root / "derivatives" / "sub-01" / "eeg").mkdir(parents=True)
    (root / "derivatives" / "sub-01" / "eeg" / "sub-01_task-emo_eeg.edf").write_bytes(b"")
    found = find_recordings(root)
    assert [p.name for p in found] == ["sub-01_ses-a_task-emo_run-1_eeg.vhdr",
                                       "sub-01_ses-a_task-emo_run-2_eeg.vhdr"]


def test_find_recordings_errors_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match=f"{tmp_path / 'nope'}: no such file or folder"):
        find_recordings(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RecordingError, match=f"{tmp_path / 'empty'}: folder with no recording"):
        find_recordings(tmp_path / "empty")
    (tmp_path / "x.csv").write_text("1,2")
    with pytest.raises(RecordingError, match=r"x\.csv: unknown recording format '\.csv'"):
        find_recordings(tmp_path / "x.csv")


# --- errors every format shares -----------------------------------------------------------


def test_unknown_ending_missing_file_and_folder_are_refused(tmp_path: Path) -> None:
    (tmp_path / "rec.csv").write_text("1,2,3")
    with pytest.raises(RecordingError, match=r"rec\.csv: unknown recording format '\.csv'") as e:
        read_recording(tmp_path / "rec.csv")
    assert all(suffix in str(e.value) for suffix in RECORDING_SUFFIXES)
    with pytest.raises(RecordingError, match=r"gone\.edf: no such file"):
        read_recording(tmp_path / "gone.edf")
    (tmp_path / "dir.fif").mkdir()
    with pytest.raises(RecordingError, match=r"dir\.fif: is a folder"):
        read_recording(tmp_path / "dir.fif")


@pytest.mark.parametrize("name", ["junk.fif", "junk.edf", "junk.bdf", "junk.set", "junk.vhdr",
                                  "junk.xdf", "junk.cnt"])
def test_corrupt_files_are_refused_naming_the_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"this is not a recording\n" * 40)
    with pytest.raises(RecordingError, match=rf"{name}: (MNE|pyxdf) cannot read it"):
        read_recording(path)


def test_reading_a_recording_imports_no_torch(tmp_path: Path) -> None:
    path, _ = save_fif(tmp_path / "a_raw.fif", [(0.5, 1.0, "x")], seconds=2.0)
    probe = ("import sys\nfrom offline_training.recordings import read_recording\n"
             f"rec = read_recording({str(path)!r})\nassert rec.trials\n"
             "assert 'torch' not in sys.modules, 'torch was imported'\n")
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=60, cwd=REPO_ROOT,
                   env=dict(os.environ), capture_output=True)
