"""XDF recordings through pyxdf, on files written by :mod:`tests.helpers_xdf`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.eeg.markers import trial_marker
from offline_training.recordings import RecordingError, parse_label_map, read_recording
from tests.helpers_xdf import XdfStream, eeg_stream, marker_stream, write_xdf
from tests.offline_training.test_recordings import AMPLITUDE_UV, TEN_TWENTY_32, signals_uv

SFREQ = 128.0
T0 = 5000.0
"""LSL time of the first EEG sample (s)."""
NAMES = [*TEN_TWENTY_32[:8], "HEOG", "TRIG"]
TYPES = ["EEG"] * 8 + ["EOG", "Trigger"]


def _convention_markers(trials: list[tuple[int, int, str]]) -> tuple[list[float], list[str]]:
    """``(first sample, last sample, label)`` -> LSL times and texts of the project's markers."""
    times, texts = [], []
    for number, (first, last, label) in enumerate(trials, start=1):
        times += [T0 + first / SFREQ, T0 + last / SFREQ]
        texts += [trial_marker(number, "start", label), trial_marker(number, "end", label)]
    return times, texts


TRIALS = [(256, 639, "negative"), (900, 1283, "positive"), (1500, 1883, "neutral")]


def _write(path: Path, *streams: XdfStream) -> Path:
    return write_xdf(path, list(streams))


def _eeg(data: np.ndarray, **kwargs: object) -> XdfStream:
    return eeg_stream(data, SFREQ, T0, names=NAMES, types=TYPES, **kwargs)  # type: ignore[arg-type]


def test_eeg_and_project_markers_with_jittered_time_stamps(tmp_path: Path) -> None:
    """Volts -> µV, EOG/trigger channels dropped, trials within one sample despite 2 ms jitter."""
    data = signals_uv(10)
    path = _write(tmp_path / "session.xdf", _eeg(data, unit="volts", jitter_s=0.002),
                  marker_stream(*_convention_markers(TRIALS)))
    rec = read_recording(path)
    assert rec.sfreq == SFREQ and rec.data.dtype == np.float32
    assert rec.ch_names == NAMES[:8] and rec.dropped == ["HEOG", "TRIG"]
    np.testing.assert_allclose(rec.data, data[:8], atol=1e-3)
    assert np.abs(rec.data[0]).max() == pytest.approx(AMPLITUDE_UV, rel=1e-5)
    assert [t.label for t in rec.trials] == ["negative", "positive", "neutral"]
    for trial, (first, last, _) in zip(rec.trials, TRIALS, strict=True):
        assert abs(trial.onset - first / SFREQ) < 1 / SFREQ  # seconds from the first EEG sample
        assert abs(trial.duration - (last - first + 1) / SFREQ) < 1 / SFREQ
    assert rec.descriptions[:2] == ["trial 1 start negative", "trial 1 end negative"]
    assert rec.subject == "session" and rec.session == "session" and rec.notes == []


@pytest.mark.parametrize(("unit", "scale"), [("microvolts", 1.0), ("uV", 1.0), ("µV", 1.0),
                                             ("millivolts", 1e-3), ("mV", 1e-3), ("V", 1e-6)])
def test_units_are_converted_to_microvolts(tmp_path: Path, unit: str, scale: float) -> None:
    data = signals_uv(10, seconds=4.0)
    stream = _eeg(data)
    stream.channels = [{**c, "unit": unit} for c in stream.channels or []]
    stream.samples = data.T * scale
    path = _write(tmp_path / "u.xdf", stream, marker_stream([T0 + 1.0, T0 + 2.0],
                                                           ["trial 1 start a", "trial 1 end a"]))
    rec = read_recording(path)
    np.testing.assert_allclose(rec.data, data[:8], atol=1e-3)
    assert rec.notes == []


def test_unknown_unit_is_taken_as_microvolts_with_a_note(tmp_path: Path) -> None:
    data = signals_uv(10, seconds=4.0)
    path = _write(tmp_path / "u.xdf", _eeg(data, unit="counts"),
                  marker_stream([T0 + 1.0, T0 + 2.0], ["trial 1 start a", "trial 1 end a"]))
    rec = read_recording(path)
    np.testing.assert_allclose(rec.data, data[:8], atol=1e-3)
    assert any("unit not known for Fp1 (counts)" in note and "microvolts" in note
               for note in rec.notes)


def test_lab_markers_with_a_label_map_last_until_the_next_marker(tmp_path: Path) -> None:
    data = signals_uv(10, seconds=10.0)
    path = _write(tmp_path / "lab.xdf", _eeg(data),
                  marker_stream([T0 + 1.0, T0 + 4.0, T0 + 5.0, T0 + 8.0],
                                ["stim_neg_01", "fixation", "stim_pos_01", "rest"],
                                name="PsychoPy", type="Markers"))
    rec = read_recording(path, parse_label_map("/^stim_neg/=negative,/^stim_pos/=positive"))
    assert [(t.label, t.description) for t in rec.trials] == [("negative", "stim_neg_01"),
                                                              ("positive", "stim_pos_01")]
    assert [round(t.onset * SFREQ) for t in rec.trials] == [128, 640]
    assert [round(t.duration * SFREQ) for t in rec.trials] == [384, 384]
    with pytest.raises(RecordingError, match=r"lab\.xdf: no labelled trials") as e:
        read_recording(path)  # zero-duration markers need a label map
    assert "'stim_neg_01', 'fixation'" in str(e.value)


def test_amplifier_clock_drift_keeps_trials_on_their_samples(tmp_path: Path) -> None:
    """The amplifier runs 0.2 % fast against the LSL clock: trials follow the samples."""
    data = signals_uv(10, seconds=30.0)
    stream = _eeg(data, jitter_s=0.001)
    true_rate = SFREQ * 1.002
    stream.time_stamps = T0 + np.arange(data.shape[1]) / true_rate
    trials = [(256, 639, "a"), (3200, 3583, "b")]
    times = [T0 + s / true_rate for first, last, _ in trials for s in (first, last)]
    texts = [trial_marker(n, kind, label) for n, (_, _, label) in enumerate(trials, start=1)
             for kind in ("start", "end")]
    rec = read_recording(_write(tmp_path / "drift.xdf", stream, marker_stream(times, texts)))
    for trial, (first, last, _) in zip(rec.trials, trials, strict=True):
        assert abs(trial.onset * SFREQ - first) < 1.0
        assert abs(trial.duration * SFREQ - (last - first + 1)) < 1.0


def test_effective_rate_far_from_the_nominal_one_is_refused(tmp_path: Path) -> None:
    data = signals_uv(10, seconds=4.0)
    stream = _eeg(data)
    stream.time_stamps = T0 + np.arange(data.shape[1]) / 100.0  # says 128 Hz, delivers 100
    path = _write(tmp_path / "rate.xdf", stream, marker_stream([T0 + 1.0], ["x"]))
    with pytest.raises(RecordingError, match=r"rate\.xdf: EEG stream 'TestAmp': effective rate "
                                             r"100\.000 Hz differs from the nominal 128 Hz"):
        read_recording(path)


def test_marker_stream_choice(tmp_path: Path) -> None:
    data = signals_uv(10, seconds=10.0)
    own = marker_stream(*_convention_markers([(128, 511, "negative")]))  # "TestAmp-markers"
    other = marker_stream([T0 + 6.0], ["stim_pos_01"], name="PsychoPy")
    keys = XdfStream(name="Keyboard", type="Markers", time_stamps=np.array([T0 + 2.0]),
                     samples=[["space"]], channel_format="string")
    path = _write(tmp_path / "three.xdf", _eeg(data), other, own, keys)
    rec = read_recording(path)  # the project's own (named "<eeg>-markers") is chosen
    assert [t.label for t in rec.trials] == ["negative"]
    rec = read_recording(path, parse_label_map("/^stim_pos/=positive"), marker_stream="PsychoPy")
    assert [(t.label, round(t.onset * SFREQ)) for t in rec.trials] == [("positive", 768)]
    with pytest.raises(RecordingError, match=r"three\.xdf: no marker stream named 'Mouse'") as e:
        read_recording(path, marker_stream="Mouse")
    assert all(name in str(e.value) for name in ("'PsychoPy'", "'TestAmp-markers'", "'Keyboard'"))

    ambiguous = _write(tmp_path / "two.xdf", _eeg(data), other, keys)
    with pytest.raises(RecordingError, match=r"two\.xdf: 2 marker streams and none is the "
                                             r"project's own; choose one by name") as e:
        read_recording(ambiguous)
    assert "'PsychoPy' (type 'Markers'" in str(e.value) and "'Keyboard'" in str(e.value)


def test_numeric_marker_stream(tmp_path: Path) -> None:
    data = signals_uv(10, seconds=6.0)
    codes = XdfStream(name="Triggers", type="Markers", time_stamps=np.array([T0 + 1.0, T0 + 3.0]),
                      samples=np.array([[11], [12]]), channel_format="int32")
    rec = read_recording(_write(tmp_path / "codes.xdf", _eeg(data), codes),
                         parse_label_map("11=negative,12=positive"))
    assert [t.label for t in rec.trials] == ["negative", "positive"]
    assert [t.onset for t in rec.trials] == pytest.approx([1.0, 3.0])
    assert [t.duration for t in rec.trials] == pytest.approx([2.0, 3.0])  # the last: to the end


def test_eeg_stream_errors_list_the_streams(tmp_path: Path) -> None:
    data = signals_uv(10, seconds=2.0)
    markers = marker_stream([T0 + 1.0], ["x"])
    audio = XdfStream(name="Mic", type="Audio", time_stamps=T0 + np.arange(10) / 100.0,
                      samples=np.zeros((10, 1)), nominal_srate=100.0)
    path = _write(tmp_path / "none.xdf", audio, markers)
    with pytest.raises(RecordingError, match=r"none\.xdf: no EEG stream \(type 'EEG'\)") as e:
        read_recording(path)
    assert "'Mic' (type 'Audio', 1 ch, float32, 100 Hz, 10 samples)" in str(e.value)
    assert "'TestAmp-markers' (type 'Markers'" in str(e.value)

    second = _eeg(data)
    second.name, second.type = "OtherAmp", "eeg"  # type compared case-insensitively
    path = _write(tmp_path / "two.xdf", _eeg(data), second, markers)
    with pytest.raises(RecordingError, match=r"two\.xdf: 2 EEG streams") as e:
        read_recording(path)
    assert "'TestAmp'" in str(e.value) and "'OtherAmp'" in str(e.value)

    path = _write(tmp_path / "nomarkers.xdf", _eeg(data), audio)
    with pytest.raises(RecordingError, match=r"nomarkers\.xdf: no marker stream") as e:
        read_recording(path)
    assert "'Mic'" in str(e.value)

    path = _write(tmp_path / "empty.xdf", _eeg(data), marker_stream([], []))
    with pytest.raises(RecordingError, match=r"empty\.xdf: the recording has no annotations or "
                                             r"markers"):
        read_recording(path)

    irregular = _eeg(data)
    irregular.nominal_srate = 0.0
    path = _write(tmp_path / "irregular.xdf", irregular, markers)
    with pytest.raises(RecordingError, match=r"irregular\.xdf: EEG stream 'TestAmp' has no "
                                             r"nominal sampling rate"):
        read_recording(path)


def test_non_finite_samples_are_refused_naming_the_channel(tmp_path: Path) -> None:
    data = signals_uv(10, seconds=2.0)
    data[2, 64] = np.inf
    path = _write(tmp_path / "inf.xdf", _eeg(data), marker_stream([T0 + 1.0], ["x"]))
    with pytest.raises(RecordingError, match=r"inf\.xdf: 1 non-finite sample .* in "
                                             r"channel F7; the first in F7 at sample 64 "
                                             r"\(0\.500 s\)"):
        read_recording(path, parse_label_map("x=a"))


def test_labrecorder_file_names_give_subject_and_session(tmp_path: Path) -> None:
    data = signals_uv(10, seconds=4.0)
    path = _write(tmp_path / "sub-P001_ses-S001_task-Default_run-001_eeg.xdf", _eeg(data),
                  marker_stream(*_convention_markers([(128, 255, "a")])))
    rec = read_recording(path)
    assert rec.subject == "P001" and rec.session == "ses-S001_task-Default_run-001"
    assert read_recording(path, subject="P9").subject == "P9"


def test_subject_from_the_stream_description(tmp_path: Path) -> None:
    stream = _eeg(signals_uv(10, seconds=4.0))
    stream.extra_desc = "<subject><id>P077</id></subject>"
    rec = read_recording(_write(tmp_path / "rec.xdf", stream,
                                marker_stream(*_convention_markers([(128, 255, "a")]))))
    assert rec.subject == "P077"


def test_truncated_and_corrupt_files(tmp_path: Path) -> None:
    """A file cut mid-chunk (a crashed recorder) is read up to the cut; a bad magic is refused."""
    data = signals_uv(10, seconds=4.0)
    path = write_xdf(tmp_path / "cut.xdf",
                     [marker_stream(*_convention_markers([(128, 255, "a")])), _eeg(data)],
                     chunk_samples=64)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) - 3000])
    rec = read_recording(path)
    assert 256 < rec.n_samples < data.shape[1]
    np.testing.assert_allclose(rec.data, data[:8, : rec.n_samples], atol=1e-3)
    path.write_bytes(whole[:2000])  # not even one EEG chunk
    with pytest.raises(RecordingError, match=r"cut\.xdf: EEG stream 'TestAmp' holds 0 samples"):
        read_recording(path)
    path.write_bytes(b"XDF!" + whole[4:])
    with pytest.raises(RecordingError, match=r"cut\.xdf: pyxdf cannot read it"):
        read_recording(path)


def test_eeg_stream_without_channel_descriptions(tmp_path: Path) -> None:
    stream = _eeg(signals_uv(10, seconds=4.0))
    stream.channels = None
    rec = read_recording(_write(tmp_path / "bare.xdf", stream,
                                marker_stream(*_convention_markers([(128, 255, "a")]))))
    assert rec.ch_names == [f"Ch{i}" for i in range(1, 11)] and rec.dropped == []
    assert any("no channel descriptions" in note for note in rec.notes)
