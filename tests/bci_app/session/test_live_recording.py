"""Recording a running session from the window's Record button: Engine.start_recording /
stop_recording, with LabRecorder, without restarting the session."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from bci_app.engine.config import EngineConfig
from bci_app.engine.engine import Engine
from bci_app.replay.player import Replay
from tests.helpers import wait_for

pytestmark = pytest.mark.lsl


@pytest.mark.slow
def test_start_and_stop_recording_while_running(seed_session_file: Path, tiny_model: Path,
                                                tmp_path: Path, unique_name: str) -> None:
    """About 15 s on 2 cores (one LabRecorder start and finish)."""
    import pyxdf

    config = EngineConfig(model=tiny_model, stream=unique_name, device="cpu",
                          outlet_name=f"{unique_name}-pred", events=True,
                          summary=tmp_path / "s.json")
    with Replay(seed_session_file, name=unique_name, source_id=unique_name, loop=True):
        engine = Engine(config)
        engine.start()
        try:
            assert wait_for(lambda: engine.status().stats.windows_predicted >= 2, 20)
            before = engine.status().stats.windows_predicted
            engine.start_recording(tmp_path / "p07.csv", tmp_path / "p07.xdf")
            assert engine.recording_path == tmp_path / "p07.xdf"
            assert "REC" in engine.status().recording or engine.status().recording
            n = engine.status().stats.windows_predicted
            assert wait_for(lambda: engine.status().stats.windows_predicted >= n + 8, 10)
            engine.stop_recording()
            assert engine.recording_path is None and engine.status().recording == ""
            n = engine.status().stats.windows_predicted
            assert wait_for(lambda: engine.status().stats.windows_predicted >= n + 4, 10)
            total = engine.status().stats.windows_predicted
        finally:
            engine.stop()
    rows = list(csv.DictReader((tmp_path / "p07.csv").open()))
    assert 8 <= len(rows) < total - before  # from the press to the stop, not before or after
    streams = {s["info"]["name"][0]: s for s in pyxdf.load_xdf(str(tmp_path / "p07.xdf"))[0]}
    assert set(streams) == {unique_name, f"{unique_name}-markers", f"{unique_name}-pred",
                            f"{unique_name}-pred-events"}
    pred_t = streams[f"{unique_name}-pred"]["time_stamps"]
    logged = [float(r["lsl_time"]) for r in rows]
    # LabRecorder subscribed before the log's first row; its last pull may miss the newest
    assert len(pred_t) >= len(rows) - 2 and min(pred_t) >= min(logged) - 1.0
    events = [e[0] for e in streams[f"{unique_name}-pred-events"]["time_series"]]
    assert events[0] == "log p07.csv"  # ("recording stops" comes as LabRecorder finishes)
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["recording"]["path"] == str(tmp_path / "p07.xdf")
    assert summary["logs"] == [str(tmp_path / "p07.csv")]
