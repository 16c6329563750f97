"""Recordings read through MNE: FIF, EDF, BDF, EEGLAB, BrainVision, BIDS, and the real eegmmidb
EDF files. Every file is written here in ``tmp_path`` (``.cnt`` has no writer: untested)."""

from __future__ import annotations

from pathlib import Path

import mne
import numpy as np
import pytest

from offline_training.recordings import RecordingError, parse_label_map, read_recording
from tests.helpers import shared_data
from tests.offline_training.test_recordings import (
    AMPLITUDE_UV,
    SFREQ,
    TEN_TWENTY_32,
    make_raw,
    save_fif,
    signals_uv,
)

ANNOTATIONS = [(2.0, 3.0, "stim_neg_1"), (8.0, 3.0, "stim_pos_1"), (13.5, 3.0, "stim_neg_2")]
EMOTIONS = "/^stim_neg/=negative,/^stim_pos/=positive"
HALF_SAMPLE = 0.5 / SFREQ


def _check_trials(rec, expected=ANNOTATIONS, labels=("negative", "positive", "negative")) -> None:
    assert [t.label for t in rec.trials] == list(labels)
    for trial, (onset, duration, text) in zip(rec.trials, expected, strict=True):
        assert abs(trial.onset - onset) < 1 / rec.sfreq, (trial, onset)  # within one sample
        assert abs(trial.duration - duration) < 1 / rec.sfreq
        assert trial.description == text


@pytest.mark.parametrize("meas_date", [True, False], ids=["meas_date", "no_meas_date"])
def test_fif_with_a_nonzero_first_sample(tmp_path: Path, meas_date: bool) -> None:
    """Onsets count from the first sample kept in the file, not from first_samp 0."""
    path, data = save_fif(tmp_path / "rec_raw.fif", ANNOTATIONS, first_samp=640,
                          meas_date=meas_date, extra=[("HEOG", "eog"), ("STI 014", "stim")])
    raw = mne.io.read_raw_fif(path, verbose="error")
    assert raw.first_samp == 640 and raw.first_time == pytest.approx(5.0)
    rec = read_recording(path, parse_label_map(EMOTIONS))
    assert rec.sfreq == SFREQ and rec.data.dtype == np.float32
    assert rec.ch_names == TEN_TWENTY_32[:8] and rec.dropped == ["HEOG", "STI 014"]
    assert rec.data.shape == (8, data.shape[1])
    np.testing.assert_allclose(rec.data, data[:8], atol=1e-3)  # microvolts, not volts
    assert np.abs(rec.data[0]).max() == pytest.approx(AMPLITUDE_UV, rel=1e-5)
    _check_trials(rec)
    assert rec.descriptions == ["stim_neg_1", "stim_pos_1", "stim_neg_2"]
    assert rec.subject == "rec" and rec.session == "rec"  # the stem less _raw, no metadata


def test_set_32_channels_with_an_eog_channel(tmp_path: Path) -> None:
    """A 32-channel 128 Hz EEGLAB file (eeglabio, with channel types) plus an EOG channel."""
    import eeglabio.raw

    data = signals_uv(33)
    path = tmp_path / "P03_emotion.set"
    onsets, durations, texts = zip(*ANNOTATIONS, strict=True)
    eeglabio.raw.export_set(str(path), data * 1e-6, SFREQ, [*TEN_TWENTY_32, "HEOG"],
                            ch_types=["EEG"] * 32 + ["EOG"],
                            annotations=[list(texts), np.array(onsets), np.array(durations)])
    rec = read_recording(path, parse_label_map(EMOTIONS))
    assert rec.ch_names == TEN_TWENTY_32 and rec.dropped == ["HEOG"] and rec.sfreq == SFREQ
    np.testing.assert_allclose(rec.data, data[:32], atol=1e-3)
    assert np.abs(rec.data[0]).max() == pytest.approx(AMPLITUDE_UV, rel=1e-5)
    _check_trials(rec)
    assert rec.subject == "P03_emotion"  # no subject in the file: its stem
    assert read_recording(path, parse_label_map(EMOTIONS), subject="P03").subject == "P03"


@pytest.mark.parametrize("fmt", ["edf", "bdf"])
def test_edf_and_bdf_written_by_mne_export(tmp_path: Path, fmt: str) -> None:
    """EDF/BDF through edfio; ``"EOG HEOG"`` labels (add_ch_type) give the EOG type back."""
    raw, data = make_raw(ANNOTATIONS, extra=[("HEOG", "eog")], subject_id="P11")
    path = tmp_path / f"rec.{fmt}"
    mne.export.export_raw(path, raw, fmt=fmt, add_ch_type=True, verbose="error")
    rec = read_recording(path, parse_label_map(EMOTIONS))
    assert rec.ch_names == TEN_TWENTY_32[:8] and rec.dropped == ["HEOG"]
    np.testing.assert_allclose(rec.data, data[:8], atol=0.05)  # EDF quantisation: 16 bits
    assert np.abs(rec.data[0]).max() == pytest.approx(AMPLITUDE_UV, abs=0.05)
    _check_trials(rec)
    assert rec.subject == "P11"  # from the file's patient field


def test_brainvision_written_by_pybv(tmp_path: Path) -> None:
    """MNE names BrainVision markers ``"<type>/<description>"`` (``"Comment/stim_neg_1"``)."""
    raw, data = make_raw(ANNOTATIONS)
    path = tmp_path / "rec.vhdr"
    mne.export.export_raw(path, raw, fmt="brainvision", verbose="error")
    rec = read_recording(path, parse_label_map("/stim_neg/=negative,/stim_pos/=positive"))
    np.testing.assert_allclose(rec.data, data[:8], atol=1e-3)
    _check_trials(rec, [(o, d, f"Comment/{t}") for o, d, t in ANNOTATIONS])
    rec = read_recording(path)  # no label map: classes are the descriptions
    assert [t.label for t in rec.trials] == [f"Comment/{t}" for _, _, t in ANNOTATIONS]


def test_bids_subject_session_and_channel_types(tmp_path: Path) -> None:
    from mne_bids import BIDSPath, write_raw_bids

    from offline_training.recordings import find_recordings

    raw, data = make_raw(ANNOTATIONS, extra=[("HEOG", "eog")])
    root = tmp_path / "bids"
    write_raw_bids(raw, BIDSPath(subject="07", session="02", task="emo", run=1, root=root,
                                 datatype="eeg"),
                   allow_preload=True, format="BrainVision", verbose="error")
    [path] = find_recordings(root)
    rec = read_recording(path, parse_label_map(EMOTIONS))
    assert rec.subject == "07" and rec.session == "ses-02_task-emo_run-1"
    assert rec.dropped == ["HEOG"]  # channels.tsv says EOG
    np.testing.assert_allclose(rec.data, data[:8], atol=1e-3)
    _check_trials(rec)
    assert read_recording(path, parse_label_map(EMOTIONS), subject="S7").subject == "S7"


def test_project_trial_markers_as_zero_duration_annotations(tmp_path: Path) -> None:
    """The replay's convention read back from a file, without a label map."""
    start, end = 256, 256 + 383  # samples: trial 1 covers 256..639 inclusive (3 s)
    path, _ = save_fif(tmp_path / "rec_raw.fif", [
        (start / SFREQ, 0.0, "trial 1 start negative"), (end / SFREQ, 0.0, "trial 1 end negative"),
        (800 / SFREQ, 0.0, "trial 2 start positive"), (1183 / SFREQ, 0.0, "trial 2 end positive"),
    ], first_samp=100)
    rec = read_recording(path)
    assert [(t.label, round(t.onset * SFREQ), round(t.duration * SFREQ)) for t in rec.trials] == [
        ("negative", 256, 384), ("positive", 800, 384)]
    assert rec.descriptions[0] == "trial 1 start negative" and len(rec.descriptions) == 4


def test_zero_duration_events_with_a_label_map_last_until_the_next_event(tmp_path: Path) -> None:
    path, _ = save_fif(tmp_path / "rec_raw.fif", [(2.0, 0.0, "stim_neg_1"), (5.0, 0.0, "rest"),
                                                  (6.0, 0.0, "stim_pos_1")], seconds=10.0)
    rec = read_recording(path, parse_label_map(EMOTIONS))
    assert [(t.label, t.onset, t.duration) for t in rec.trials] == [("negative", 2.0, 3.0),
                                                                    ("positive", 6.0, 4.0)]


def test_stim_channel_events_when_there_are_no_annotations(tmp_path: Path) -> None:
    raw, _ = make_raw(extra=[("STI 014", "stim")], first_samp=300, seconds=10.0)
    for sample, code in ((256, 1), (768, 5), (1024, 2)):
        raw._data[-1, sample:sample + 4] = code
    raw.save(tmp_path / "stim_raw.fif", verbose="error")
    rec = read_recording(tmp_path / "stim_raw.fif", parse_label_map("1=negative,2=positive"))
    assert [(t.label, round(t.onset * SFREQ), round(t.duration * SFREQ)) for t in rec.trials] == [
        ("negative", 256, 512), ("positive", 1024, 256)]  # until the next trigger / the end
    assert rec.descriptions == ["1", "5", "2"] and rec.dropped == ["STI 014"]
    assert any("3 events read from the stim channel" in note for note in rec.notes)


def test_subject_from_file_metadata(tmp_path: Path) -> None:
    path, _ = save_fif(tmp_path / "rec_raw.fif", ANNOTATIONS, subject_id="P42")
    assert read_recording(path).subject == "P42"


def test_errors_name_the_file_and_say_what_is_wrong(tmp_path: Path) -> None:
    no_eeg, _ = save_fif(tmp_path / "noeeg_raw.fif", ANNOTATIONS, eeg=[],
                         extra=[("HEOG", "eog"), ("ECG", "ecg")])
    with pytest.raises(RecordingError, match=r"noeeg_raw\.fif: no EEG channel") as e:
        read_recording(no_eeg)
    assert "HEOG (eog), ECG (ecg)" in str(e.value)

    bare, _ = save_fif(tmp_path / "bare_raw.fif")
    with pytest.raises(RecordingError, match=r"bare_raw\.fif: the recording has no annotations"):
        read_recording(bare)

    path, _ = save_fif(tmp_path / "rec_raw.fif", ANNOTATIONS)
    with pytest.raises(RecordingError, match=r"rec_raw\.fif: the label map T1=fists,T2=feet "
                                             r"matches none") as e:
        read_recording(path, parse_label_map("T1=fists,T2=feet"))
    assert "'stim_neg_1', 'stim_pos_1', 'stim_neg_2'" in str(e.value)
    with pytest.raises(RecordingError, match=r"rec_raw\.fif: no trial of class 'neutral'") as e:
        read_recording(path, parse_label_map(f"{EMOTIONS},/^stim_neu/=neutral"))
    assert "'stim_neg_1', 'stim_pos_1', 'stim_neg_2'" in str(e.value)

    raw, _ = make_raw(ANNOTATIONS)
    raw._data[3, 300:310] = np.nan
    raw.save(tmp_path / "nan_raw.fif", verbose="error")
    with pytest.raises(RecordingError, match=r"nan_raw\.fif: 10 non-finite samples .* in "
                                             r"channel F3; the first in F3 at sample 300"):
        read_recording(tmp_path / "nan_raw.fif")


def test_eegmmidb_motor_imagery_run() -> None:
    """PhysioNet EEG Motor Movement/Imagery, subject 1 run 6: T1 fists, T2 feet (4.1 s each)."""
    path = shared_data("eegmmidb_S001", "S001R06.edf")
    rec = read_recording(path, parse_label_map("T1=fists,T2=feet"))
    assert rec.sfreq == 160.0 and rec.data.shape[0] == 64 and rec.dropped == []
    assert len(rec.trials) == 15 and set(rec.classes) == {"fists", "feet"}
    assert all(abs(t.duration - 4.1) < 0.11 for t in rec.trials)
    assert [t.onset for t in rec.trials] == sorted(t.onset for t in rec.trials)
    assert set(rec.descriptions) == {"T0", "T1", "T2"} and rec.subject == "S001R06"
    assert 1.0 < float(np.std(rec.data)) < 500.0  # microvolts, not volts
