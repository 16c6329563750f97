"""Markers: parsing the replay's trial markers, truth lookup, and a live listener fed by a
pylsl outlet."""

from __future__ import annotations

import threading
import time

import pylsl
import pytest

from bci_app.lsl.markers import MarkerListener, MarkerTracker, find_marker_stream, parse_marker
from bci_app.lsl.streams import StreamDescription
from models.eeg.label_map import parse_label_map


def test_parse_marker() -> None:
    assert parse_marker("trial 3 start negative") == ("start", 0)
    assert parse_marker("trial 3 end negative") == ("end", 0)
    assert parse_marker("trial 12 start neutral") == ("start", 1)
    assert parse_marker("Trial 1 END Positive") == ("end", 2)
    assert parse_marker("trial 4 start") == ("start", None)  # labels unknown to the replay
    assert parse_marker("trial 4 start happy") == ("start", None)
    assert parse_marker("trial 4 start calm", ("sad", "calm")) == ("start", 1)
    for other in ("T1", "T1 end", "", "trial x start negative", "trial 3 begin negative"):
        assert parse_marker(other) is None


def test_truth_over_a_sequence() -> None:
    tracker = MarkerTracker()
    assert tracker.truth_at(5.0) is None  # before any marker
    events = [
        ("T0", 9.0),
        ("trial 1 start positive", 10.0),
        ("trial 1 end positive", 14.0),
        ("trial 2 start negative", 15.0),
        ("trial 2 end negative", 19.0),
        ("trial 3 start", 20.0),  # no label
        ("trial 3 end", 21.0),
        ("trial 4 start neutral", 25.0),  # still running: end not received yet
    ]
    results = [tracker.add(text, t) for text, t in events]
    assert results[0] is None and results[1] == ("start", 2)
    expected = {
        9.99: None,
        10.0: 2,
        13.99: 2,
        14.0: None,
        14.5: None,
        15.0: 0,
        18.0: 0,
        19.5: None,
        20.5: None,
        22.0: None,
        25.0: 1,
        30.0: 1,
    }
    assert {t: tracker.truth_at(t) for t in expected} == expected
    tracker.add("trial 4 end neutral", 28.0)
    assert (tracker.truth_at(27.9), tracker.truth_at(28.5)) == (1, None)
    assert tracker.n_markers == len(events) + 1
    assert tracker.last_marker == ("trial 4 end neutral", 28.0)
    assert tracker.has_labels


def test_truth_with_late_and_missing_markers() -> None:
    tracker = MarkerTracker()
    tracker.add("trial 5 end positive", 3.0)  # joined mid-trial: no start, ignored
    assert tracker.truth_at(2.0) is None and not tracker.has_labels
    tracker.add("trial 6 start neutral", 10.0)
    tracker.add("trial 7 start negative", 20.0)  # end of trial 6 missed: closed here
    assert (tracker.truth_at(15.0), tracker.truth_at(25.0)) == (1, 0)
    tracker.add("trial 6 end neutral", 18.0)  # arrives late, out of order
    assert (tracker.truth_at(17.9), tracker.truth_at(18.5), tracker.truth_at(20.0)) == (1, None, 0)
    tracker.add("trial 7 end negative", 22.0)
    # lookups are over stored events: a window stamped earlier still gets its trial's label
    assert (tracker.truth_at(21.0), tracker.truth_at(16.0), tracker.truth_at(23.0)) == (0, 1, None)
    # a replay loop repeats trial numbers at later times
    tracker.add("trial 6 start neutral", 30.0)
    tracker.add("trial 6 end neutral", 38.0)
    assert (tracker.truth_at(35.0), tracker.truth_at(12.0)) == (1, 1)


def test_tracker_is_thread_safe() -> None:
    tracker = MarkerTracker()

    def feed(offset: float) -> None:
        for k in range(300):
            t = offset + 10.0 * k
            tracker.add(f"trial {k} start positive", t)
            tracker.add(f"trial {k} end positive", t + 5.0)
            tracker.truth_at(t + 1.0)

    threads = [threading.Thread(target=feed, args=(off,)) for off in (0.0, 1e6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert tracker.n_markers == 1200
    assert tracker.truth_at(1e6 + 10.0 * 299 + 1.0) == 2 and tracker.truth_at(7.0) is None


def _stream(
    name: str,
    stype: str,
    source_id: str,
    host: str = "pc",
    sfreq: float = 0.0,
    dtype: str = "string",
) -> StreamDescription:
    return StreamDescription(name, stype, 1, sfreq, host, source_id, dtype)


def test_find_marker_stream() -> None:
    eeg = _stream("bci-replay", "EEG", "bci-replay-1_20131027", sfreq=200.0, dtype="float64")
    by_name = _stream("bci-replay-markers", "Markers", "other")
    by_sid = _stream("renamed", "markers", "bci-replay-1_20131027-markers")
    both = _stream("bci-replay-markers", "Markers", "bci-replay-1_20131027-markers")
    wrong_type = _stream("bci-replay-markers", "Events", "bci-replay-1_20131027-markers")
    numeric = _stream("bci-replay-markers", "Markers", "x", sfreq=0.0, dtype="float32")
    assert find_marker_stream(eeg, streams=[eeg, by_name]) is by_name
    assert find_marker_stream(eeg, streams=[eeg, by_sid]) is by_sid
    assert find_marker_stream(eeg, streams=[by_name, by_sid, both]) is both
    assert find_marker_stream(eeg, streams=[eeg, wrong_type, numeric]) is None
    no_sid = _stream("bci-replay", "EEG", "", sfreq=200.0, dtype="float64")
    assert find_marker_stream(no_sid, streams=[_stream("x", "Markers", "-markers")]) is None


# ----------------------------------------------------------------------------- LSL
@pytest.mark.lsl
def test_listener_receives_pylsl_markers(unique_name: str) -> None:
    info = pylsl.StreamInfo(
        unique_name, "Markers", 1, pylsl.IRREGULAR_RATE, pylsl.cf_string, f"{unique_name}-sid"
    )
    outlet = pylsl.StreamOutlet(info)
    tracker = MarkerTracker()
    listener = MarkerListener(tracker, source_id=f"{unique_name}-sid")
    before = set(threading.enumerate())
    try:
        listener.start()
        assert listener.wait_connected(5.0), "marker stream not resolved"
        assert outlet.wait_for_consumers(5.0), "listener never subscribed"
        time.sleep(0.2)  # subscription established before the first push
        now = pylsl.local_clock()
        sent = [
            ("trial 1 start negative", now - 3.0),
            ("trial 1 end negative", now - 2.0),
            ("T1", now - 1.5),
            ("trial 2 start positive", now - 1.0),
        ]
        for text, t in sent:
            outlet.push_sample([text], t)
        deadline = time.monotonic() + 5.0
        while tracker.n_markers < len(sent) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert tracker.n_markers == len(sent)
        assert tracker.last_marker is not None and tracker.last_marker[0] == sent[-1][0]
        assert abs(tracker.last_marker[1] - sent[-1][1]) < 1e-3  # clocksync ~0 on one machine
        assert tracker.truth_at(now - 2.5) == 0
        assert tracker.truth_at(now - 1.75) is None
        assert tracker.truth_at(now) == 2
    finally:
        listener.stop()
        listener.stop()  # idempotent
        del outlet
    assert not listener.running and not listener.connected
    assert set(threading.enumerate()) - before == set()


@pytest.mark.lsl
def test_listener_stops_while_resolving(unique_name: str) -> None:
    listener = MarkerListener(MarkerTracker(), name=unique_name, resolve_timeout=0.3)
    listener.start()
    time.sleep(0.1)
    start = time.monotonic()
    listener.stop()
    assert time.monotonic() - start < 1.0
    assert not listener.running and not listener.connected
    with pytest.raises(ValueError, match="name or source id"):
        MarkerListener(MarkerTracker())


def test_a_label_map_turns_a_labs_own_markers_into_trials() -> None:
    """The trainer's rule: a matched marker starts a trial that lasts until the next marker."""
    tracker = MarkerTracker(label_map=parse_label_map("stim_neg=negative,/^stim_pos/=positive,"
                                                      "calm=neutral"))
    for t, text in [(10.0, "fixation"), (12.0, "stim_neg"), (20.0, "rating"),
                    (30.0, "stim_pos_07"), (40.0, "calm"), (50.0, "stim_unknown"),
                    (60.0, "trial 9 start happy")]:
        tracker.add(text, t)
    assert tracker.truth_at(11.0) is None  # fixation: no class
    assert tracker.truth_at(15.0) == 0 and tracker.truth_at(20.5) is None  # ended by "rating"
    assert tracker.truth_at(35.0) == 2 and tracker.truth_at(45.0) == 1  # "calm" closes pos
    assert tracker.truth_at(55.0) is None  # an unmapped marker ends "calm"
    assert tracker.truth_at(65.0) is None  # the convention, but a class the map and model lack
    assert [(n, c, s, e) for n, c, s, e in tracker.finished_trials()] == [
        (-1, "negative", 12.0, 20.0), (-2, "positive", 30.0, 40.0), (-3, "neutral", 40.0, 50.0)]
    # the convention still works, its label word through the map
    conv = MarkerTracker(label_map=parse_label_map("sad=negative"))
    conv.add("trial 1 start sad", 1.0)
    conv.add("trial 1 end sad", 5.0)
    assert conv.truth_at(3.0) == 0 and conv.finished_trials() == [(1, "negative", 1.0, 5.0)]


def test_trials_of_another_class_set_become_truth_after_a_class_change() -> None:
    """Calibration may train a model for the lab's own classes: their trials are kept with
    their labels while the running model lacks them, and count once its classes change."""
    tracker = MarkerTracker(label_map=parse_label_map("T1=fists,T2=feet,T0=rest"))
    for t, text in [(0.0, "T1"), (4.0, "T0"), (8.0, "T2"), (12.0, "T0"), (16.0, "T1")]:
        tracker.add(text, t)
    assert tracker.truth_at(2.0) is None and not tracker.has_labels  # SEED's classes
    assert tracker.finished_trials() == []
    assert [c for _, c, _, _ in tracker.finished_trials(classes=["Fists", "feet"])] == [
        "Fists", "feet"]  # the names as asked; rest not asked for
    assert tracker.current(17.0) == (-5, "fists")  # the label as the map gives it
    tracker.set_class_names(["fists", "feet", "rest"])
    assert (tracker.truth_at(2.0), tracker.truth_at(5.0), tracker.truth_at(9.0)) == (0, 2, 1)
    assert tracker.has_labels and len(tracker.finished_trials()) == 4
    conv = MarkerTracker()  # the convention with a word that is not a class (yet)
    conv.add("trial 1 start happy", 1.0)
    conv.add("trial 1 end happy", 3.0)
    assert conv.truth_at(2.0) is None and conv.current(2.0) == (1, "happy")
    conv.set_class_names(["Happy", "sad"])
    assert conv.truth_at(2.0) == 0 and conv.finished_trials() == [(1, "Happy", 1.0, 3.0)]


def test_current_trial() -> None:
    tracker = MarkerTracker()
    tracker.add("trial 3 start positive", 10.0)
    assert tracker.current(9.0) is None and tracker.current(12.0) == (3, "positive")
    tracker.add("trial 3 end positive", 20.0)
    tracker.add("trial 4 start", 21.0)  # no class word
    assert tracker.current(20.5) is None and tracker.current(22.0) == (4, None)
