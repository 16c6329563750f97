"""The trial convention with a repeated start marker: a recorder connected to the marker stream
may hold the original ``trial N start`` and the copy a sender re-announces to a late receiver
(same text, same timestamp, recorded later); the pair still makes one trial."""

from __future__ import annotations

import pytest

from offline_training.recordings.base import Event
from offline_training.recordings.trials import build_trials

SFREQ = 200.0


@pytest.mark.parametrize("shift_s", [0.0, 2e-6, -2e-6])  # exact copy, or moved by clock sync
def test_a_repeated_start_marker_gives_one_trial(shift_s: float) -> None:
    events = [
        Event(2.0, 0.0, "trial 1 start negative"),
        Event(5.0, 0.0, "trial 1 end negative"),
        Event(6.0, 0.0, "trial 2 start positive"),
        Event(7.0, 0.0, "T1"),  # something else recorded in between
        Event(6.0 + shift_s, 0.0, "trial 2 start positive"),  # the re-announced copy
        Event(9.0, 0.0, "trial 2 end positive"),
    ]
    trials, _ = build_trials(events, None, sfreq=SFREQ, data_seconds=10.0, source="rec.xdf")
    assert [(t.label, t.description) for t in trials] == [
        ("negative", "trial 1 start negative"),
        ("positive", "trial 2 start positive"),
    ]
    later = max(6.0, 6.0 + shift_s)  # the pairing keeps the last start seen
    assert [t.onset for t in trials] == pytest.approx([2.0, later], abs=1e-12)
    assert [t.duration for t in trials] == pytest.approx(
        [3.0 + 1 / SFREQ, 9.0 - later + 1 / SFREQ], abs=1e-12
    )
