"""Ground truth from a lab's own stimulus program: --marker-stream NAME and --labels MAP."""

from __future__ import annotations

import json
from pathlib import Path

import pylsl
import pytest

from bci_app.engine.config import EngineConfig
from bci_app.engine.engine import Engine
from bci_app.replay.player import Replay
from tests.helpers import wait_for

pytestmark = pytest.mark.lsl


def _marker_outlet(name: str) -> pylsl.StreamOutlet:
    info = pylsl.StreamInfo(name, "Markers", 1, 0.0, pylsl.cf_string, f"{name}-sid")
    return pylsl.StreamOutlet(info)


def test_truth_from_a_stimulus_programs_markers(seed_session_file: Path, tiny_model: Path,
                                                tmp_path: Path, unique_name: str) -> None:
    """A PsychoPy-like stream with its own texts; the replay's own markers are ignored."""
    psychopy = _marker_outlet(f"{unique_name}-psychopy")
    config = EngineConfig(model=tiny_model, stream=unique_name, device="cpu", outlet_name=None,
                          marker_stream=f"{unique_name}-psychopy",
                          labels="/^film_sad/=negative,film_fun=positive")
    with Replay(seed_session_file, name=unique_name, source_id=unique_name, loop=True):
        engine = Engine(config)
        engine.start()
        try:
            assert wait_for(lambda: engine.status().stats.windows_predicted >= 2, 20)
            assert wait_for(lambda: psychopy.have_consumers(), 5)
            psychopy.push_sample(["film_sad_03"], pylsl.local_clock())
            assert wait_for(lambda: any(r.truth == 0 for r in engine.drain_results()), 10)
            psychopy.push_sample(["rating screen"], pylsl.local_clock())
            psychopy.push_sample(["film_fun"], pylsl.local_clock())
            assert wait_for(lambda: any(r.truth == 2 for r in engine.drain_results()), 10)
            trials = engine.marker_tracker.finished_trials()
            assert [(n, c) for n, c, _, _ in trials] == [(-1, "negative")]  # "rating screen" ended
        finally:
            engine.stop()


def test_a_bad_label_map_is_refused_before_the_session() -> None:
    with pytest.raises(ValueError, match="has no '='"):
        EngineConfig(labels="stim_neg")


@pytest.mark.slow
def test_switching_to_another_marker_stream_while_running(seed_session_file: Path,
                                                          tiny_model: Path, tmp_path: Path,
                                                          unique_name: str) -> None:
    """About 12 s on 2 cores. The Calibrate panel's choice: from the replay's own markers to
    a stimulus program's stream with a label map, without stopping; it is in the summary."""
    psychopy = _marker_outlet(f"{unique_name}-psychopy")
    config = EngineConfig(model=tiny_model, stream=unique_name, device="cpu",
                          outlet_name=f"{unique_name}-pred", events=True,
                          summary=tmp_path / "s.json")
    with Replay(seed_session_file, name=unique_name, source_id=unique_name, loop=True):
        engine = Engine(config)
        engine.start()
        try:
            assert wait_for(lambda: engine.status().stats.n_with_truth >= 2, 20)
            assert engine.marker_stream == f"{unique_name}-markers"
            with pytest.raises(ValueError, match="has no '='"):
                engine.follow_markers(f"{unique_name}-psychopy", "film_sad")
            engine.follow_markers(f"{unique_name}-psychopy", "film_sad=negative")
            assert engine.marker_stream == f"{unique_name}-psychopy"
            assert engine.marker_labels == "film_sad=negative"
            engine.drain_results()
            after: list = []

            def eight_more() -> bool:
                after.extend(engine.drain_results())
                return len(after) >= 8

            assert wait_for(eight_more, 10)
            # the replay's "trial N start <label>" markers are not followed any more
            assert all(r.truth is None for r in after)
            psychopy.push_sample(["film_sad"], pylsl.local_clock())
            assert wait_for(lambda: any(r.truth == 0 for r in engine.drain_results()), 10)
        finally:
            engine.stop()
    del psychopy
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["markers"] == {"stream": f"{unique_name}-psychopy",
                                  "labels": "film_sad=negative"}
