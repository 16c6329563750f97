"""The calibration copy of the raw data and the FIF file the trainer reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bci_app.calibration.buffer import CalibrationBuffer, LabelledTrial, write_calibration_fif
from bci_app.lsl.markers import MarkerTracker


def test_buffer_keeps_chunks_in_order_and_drops_the_oldest() -> None:
    buf = CalibrationBuffer(3, 10.0, max_seconds=2.0)  # 20 samples
    for k in range(5):
        buf.append(np.full((8, 3), k, np.float64), 100 + np.arange(8 * k, 8 * k + 8) / 10)
    buf.append(np.zeros((8, 4)), np.zeros(8))  # a wrong chunk is not kept (never raises)
    data, times = buf.snapshot()
    assert data.shape == (3, 24) and data.dtype == np.float32  # 3 whole chunks >= 20 samples
    assert np.all(np.diff(times) > 0) and times[0] == pytest.approx(101.6)
    assert buf.seconds == pytest.approx(2.4)


def test_fif_holds_the_trials_where_the_markers_put_them(tmp_path: Path) -> None:
    from offline_training.recordings import read_recording

    sfreq, names = 100.0, ["Fz", "Cz", "Pz"]
    t0 = 500.0
    times = t0 + np.arange(3000) / sfreq
    times[1500:] += 2.0  # a 2-s gap: trials are placed by sample, not by clock
    rng = np.random.default_rng(0)
    data = rng.normal(0, 10, (3, 3000)).astype(np.float32)
    tracker = MarkerTracker(["calm", "tense"])
    for n, (start, end, label) in enumerate([(0, 499, "calm"), (600, 1099, "tense"),
                                             (1600, 2099, "calm"), (2200, 2699, "tense")], 1):
        tracker.add(f"trial {n} start {label}", times[start])
        tracker.add(f"trial {n} end {label}", times[end])
    tracker.add("trial 5 start calm", times[2800])  # not finished: not a calibration trial
    trials = [LabelledTrial(n, c, s, e) for n, c, s, e in tracker.finished_trials()]
    assert [t.trial for t in trials] == [1, 2, 3, 4]
    path = write_calibration_fif(tmp_path / "cal_raw.fif", data, times, names, sfreq, trials,
                                 participant="P07")
    rec = read_recording(path)
    assert rec.classes == ("calm", "tense") and rec.subject == "P07"
    onsets = [round(t.onset * sfreq) for t in rec.trials]
    assert onsets == [0, 600, 1600, 2200]
    assert all(round(t.duration * sfreq) == 500 for t in rec.trials)
    np.testing.assert_allclose(rec.data, data, rtol=1e-5, atol=1e-4)  # microvolts again
    with pytest.raises(ValueError, match="none of the 1 trials"):
        write_calibration_fif(tmp_path / "x_raw.fif", data, times, names, sfreq,
                              [LabelledTrial(9, "calm", 9000.0, 9001.0)])
