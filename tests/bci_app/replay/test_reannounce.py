"""A receiver that connects mid-trial still gets that trial's ground truth: the replay re-sends
the running trial's start marker, with its original timestamp, when its marker outlet gets its
first consumer; receivers take a repeated start as one trial."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pylsl
import pytest

from bci_app.lsl.markers import MarkerListener, MarkerTracker
from bci_app.replay.player import Replay
from models.eeg.seed_layout import SEED_CLASS_NAMES

SFREQ = 200.0
TS_TOL = 1e-6  # seconds: a repeated marker carries the exact timestamp of its sample


@pytest.fixture
def long_first_trial(tmp_path: Path) -> Path:
    """Synthetic SEED session whose trial 1 lasts 6 s (1201 samples), the others 0.5 s."""
    from offline_training.synth import generate_seed_folder

    paths = generate_seed_folder(
        tmp_path / "SEED", subjects=(1,), n_sessions=1, trial_seconds=[6.0] + [0.5] * 14
    )
    return next(p for p in paths if p.name.startswith("1_"))


@pytest.fixture
def short_seed_file(tmp_path: Path) -> Path:
    """Synthetic SEED session with 0.5-s trials (101 samples each)."""
    from offline_training.synth import generate_seed_folder

    paths = generate_seed_folder(tmp_path / "SEED", subjects=(1,), n_sessions=1, trial_seconds=0.5)
    return next(p for p in paths if p.name.startswith("1_"))


def _class_of(text: str) -> int:
    """Class index of the label word of a ``"trial N start <label>"`` marker."""
    return SEED_CLASS_NAMES.index(text.split()[-1])


# ----------------------------------------------------------------------------- no LSL
def test_tracker_keeps_one_interval_for_a_repeated_start() -> None:
    tracker = MarkerTracker()
    tracker.add("trial 1 start positive", 10.0)
    tracker.add("trial 1 start positive", 10.0)  # re-announced, same time
    tracker.add("trial 1 start positive", 10.0 + 2e-6)  # moved by a clock-offset update
    assert tracker.truth_at(12.0) == 2
    tracker.add("trial 1 end positive", 14.0)
    tracker.add("trial 1 start positive", 10.0)  # a late copy after the end: still closed
    assert (tracker.truth_at(10.0), tracker.truth_at(13.9), tracker.truth_at(14.5)) == (2, 2, None)
    tracker.add("trial 2 start negative", 15.0)
    tracker.add("trial 2 start negative", 15.0 - 1e-6)  # a copy stamped a hair earlier
    assert (tracker.truth_at(14.99), tracker.truth_at(15.0), tracker.truth_at(20.0)) == (None, 0, 0)
    with tracker._lock:  # white-box: one interval per trial, none empty
        spans = [(iv.trial, iv.start, iv.end) for iv in tracker._intervals]
    assert spans == [(1, 10.0, 14.0), (2, 15.0, float("inf"))]
    # a different trial at the same time is not a duplicate; a loop repeats numbers later on
    tracker.add("trial 7 start neutral", 30.0)
    tracker.add("trial 1 start positive", 40.0)
    assert (tracker.truth_at(35.0), tracker.truth_at(41.0)) == (1, 2)


# ----------------------------------------------------------------------------- LSL
@pytest.mark.lsl
def test_listener_connected_mid_trial_gets_its_truth(
    long_first_trial: Path, unique_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The listener connects ~1 s into trial 1 (which starts at sample 0): the replay re-sends
    that trial's start with the timestamp of sample 0, so truth covers the trial from its
    beginning (without the re-send it would be None until trial 2)."""
    replay = Replay(long_first_trial, name=unique_name, source_id=unique_name, trials=[1, 2])
    start_marker = replay.markers[0]
    assert start_marker.sample == 0 and start_marker.text.startswith("trial 1 start ")
    expected = _class_of(start_marker.text)
    tracker = MarkerTracker()
    listener = MarkerListener(tracker, source_id=replay.marker_source_id)
    caplog.set_level(logging.DEBUG, logger="bci_app.replay.player")
    before = pylsl.local_clock()
    replay.start()
    after = pylsl.local_clock()
    try:
        time.sleep(1.0)
        listener.start()
        assert listener.wait_settled(5.0), "marker stream not resolved or no marker in time"
        inside = before + 0.5  # 0.5 s into trial 1, before the listener existed
        # settled means the re-announced trial is in (what the engine waits for at start)
        assert tracker.truth_at(inside) == expected, f"markers received: {tracker.n_markers}"
        assert tracker.truth_at(before + 4.0) == expected
        text, stamp = tracker.last_marker or ("", 0.0)
        assert text == start_marker.text
        assert before + 1 / SFREQ - 1e-3 <= stamp <= after + 1 / SFREQ + 1e-3  # sample 0
        assert tracker.n_markers == 1  # one copy, nothing else yet
        assert f"re-sent {start_marker.text!r}" in caplog.text
    finally:
        listener.stop()  # inlet closed before the outlets
        replay.stop()


@pytest.mark.lsl
def test_looping_replay_resends_with_the_current_pass_times(
    short_seed_file: Path, unique_name: str
) -> None:
    """In a loop, the repeated start carries the timestamp of the current pass's sample, and a
    consumer that leaves and comes back gets it again."""
    replay = Replay(short_seed_file, name=unique_name, trials=[2, 3], loop=True)
    n, starts = replay.n_samples, {m.text: m.sample for m in replay.markers if " start " in m.text}
    assert n == 202
    before = pylsl.local_clock()
    replay.start()
    after = pylsl.local_clock()
    try:
        for wait_s in (1.3, 0.4):  # into the second pass, then later again
            time.sleep(wait_s)
            infos = pylsl.resolve_byprop("name", replay.marker_name, minimum=1, timeout=5.0)
            assert infos, "marker stream not found"
            inlet = pylsl.StreamInlet(infos[0], recover=False)
            try:
                inlet.open_stream(timeout=5.0)
                sample, stamp = inlet.pull_sample(timeout=2.0)
                connected = pylsl.local_clock()
            finally:
                inlet.close_stream()
                del inlet
            assert sample is not None and sample[0] in starts, f"got {sample}"
            # its absolute sample j: stamp = t_start + (j + 1) / sfreq, before <= t_start <= after
            j_lo = (stamp - after) * SFREQ - 1
            j_hi = (stamp - before) * SFREQ - 1
            j = round(j_hi)
            assert j_lo - 1e-3 <= j <= j_hi + 1e-3
            assert j % n == starts[sample[0]], "not the start sample of its trial"
            assert j >= n, "the first pass's time was sent in a later pass"
            assert connected - 101 / SFREQ - 0.2 <= stamp <= connected  # the running trial
            time.sleep(0.2)  # the outlet sees the consumer leave before the next connection
    finally:
        replay.stop()
