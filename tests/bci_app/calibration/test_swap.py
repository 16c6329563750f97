"""Swapping the model of a running engine: refusals, and the next window from the new one."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from bci_app.engine.config import EngineConfig
from bci_app.engine.engine import Engine, ModelSwapError, model_id
from bci_app.replay.player import Replay
from models import load_model
from models.eeg.seed_layout import SEED_CHANNELS
from models.preprocessing import FilterSpec
from tests.helpers import make_model_file, wait_for


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("swap")
    return {
        "a": make_model_file(d / "a.safetensors", seed=0),
        "b": make_model_file(d / "b.safetensors", seed=1),
        "chain": make_model_file(d / "chain.safetensors", seed=2,  # declares the defaults
                                 filters=FilterSpec()),
        "classes": make_model_file(d / "classes.safetensors", class_names=["calm", "tense"]),
        "montage": make_model_file(d / "montage.safetensors", channels=SEED_CHANNELS[:32]),
        "rate": make_model_file(d / "rate.safetensors", sfreq=128.0, window_samples=128),
        "band": make_model_file(d / "band.safetensors", filters=FilterSpec(8.0, 30.0, None, 4)),
    }


@pytest.mark.parametrize(("which", "what"), [("montage", "channels 32"),
                                             ("rate", "rate 128 Hz"),
                                             ("band", "filter chain 8-30 Hz")])
def test_a_model_that_does_not_fit_the_session_is_refused(models: dict[str, Path], which: str,
                                                          what: str) -> None:
    engine = Engine(EngineConfig(model=models["a"], device="cpu", outlet_name=None))
    with pytest.raises(ModelSwapError, match=what):
        engine.check_swap(load_model(models[which]))
    engine.check_swap(load_model(models["b"]))  # same montage, rate, window, classes, chain
    engine.check_swap(load_model(models["chain"]))
    engine.check_swap(load_model(models["classes"]))  # other classes: outputs of their own


@pytest.mark.lsl
def test_swap_in_a_running_session(models: dict[str, Path], seed_session_file: Path,
                                   tmp_path: Path, unique_name: str) -> None:
    """The window after the swap is the new model's: log column, results, summary, event."""
    new = load_model(models["b"])
    config = EngineConfig(model=models["a"], stream=unique_name, device="cpu",
                          log=tmp_path / "log.csv", summary=tmp_path / "summary.json",
                          outlet_name=f"{unique_name}-pred", events=True)
    with Replay(seed_session_file, name=unique_name, source_id=unique_name, loop=True):
        engine = Engine(config)
        old_id = engine.model_id
        engine.start()
        try:
            assert wait_for(lambda: engine.status().stats.windows_predicted >= 4, 20)
            engine.swap_model(new, source="b.safetensors")
            assert wait_for(lambda: engine.status().model == model_id(new), 5)
            n = engine.status().stats.windows_predicted
            assert wait_for(lambda: engine.status().stats.windows_predicted >= n + 4, 10)
        finally:
            engine.stop()
    results = engine.drain_results()
    ids = [r.model for r in results]
    k = ids.index(model_id(new))
    assert set(ids[:k]) == {old_id} and set(ids[k:]) == {model_id(new)} and old_id != ids[k]
    # the new model really made them: its probabilities for the window it predicted
    rows = list(csv.DictReader((tmp_path / "log.csv").open()))
    assert [r["model"] for r in rows] == ids
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [m["id"] for m in summary["models"]] == [old_id, model_id(new)]
    assert summary["models"][1]["source"] == "b.safetensors"


@pytest.mark.lsl
@pytest.mark.slow
def test_swap_to_another_class_set(models: dict[str, Path], seed_session_file: Path,
                                   tmp_path: Path, unique_name: str) -> None:
    """About 25 s on 2 cores (two LabRecorder starts). A model calibrated for the lab's own
    classes: a new outlet with its class names (the old one closes), a second log, a
    companion recording of the new outlet, truth by the new classes, all in the summary."""
    import pylsl
    import pyxdf

    new = load_model(models["classes"])  # calm, tense
    config = EngineConfig(model=models["a"], stream=unique_name, device="cpu",
                          log=tmp_path / "s.csv", summary=tmp_path / "s.json",
                          outlet_name=f"{unique_name}-pred", events=True,
                          record=tmp_path / "s.xdf", labels="positive=calm,negative=tense")
    with Replay(seed_session_file, name=unique_name, source_id=unique_name, loop=True):
        engine = Engine(config)
        old_id, new_id = engine.model_id, model_id(new)
        engine.start()
        try:
            assert wait_for(lambda: engine.status().stats.windows_predicted >= 4, 40)
            old_sid = f"sicleer-{unique_name}"
            engine.swap_model(new, source="classes.safetensors")  # opens the new outputs
            assert wait_for(lambda: engine.status().model == new_id, 5)
            assert engine.class_names == ["calm", "tense"]
            infos = pylsl.resolve_byprop("name", f"{unique_name}-pred", minimum=1, timeout=5)
            assert [(i.source_id(), i.channel_count()) for i in infos] == [
                (f"{old_sid}-{new_id}", 2)]  # the old outlet is gone
            n = engine.status().stats.windows_predicted
            assert wait_for(lambda: engine.status().stats.windows_predicted >= n + 24, 20)
        finally:
            engine.stop(timeout=30)  # two LabRecorders finish their files
    results = engine.drain_results()
    k = [r.model for r in results].index(new_id)
    assert {len(r.probs) for r in results[:k]} == {3} and {len(r.probs) for r in results[k:]} == {2}
    # before: only the unmapped word "neutral" is a class of the model (SEED's index 1)
    assert {r.truth for r in results[:k]} <= {None, 1}
    after = {r.truth for r in results[k:]}  # positive -> calm, negative -> tense, neutral: none
    assert after <= {None, 0, 1} and after & {0, 1}
    first = list(csv.DictReader((tmp_path / "s.csv").open()))
    second = list(csv.DictReader((tmp_path / f"s-{new_id}.csv").open()))
    assert {r["model"] for r in first} == {old_id} and {r["model"] for r in second} == {new_id}
    assert "p_calm" in second[0] and "p_negative" in first[0]
    assert {r["truth"] for r in second} <= {"", "calm", "tense"} != {""}
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["logs"] == [str(tmp_path / "s.csv"), str(tmp_path / f"s-{new_id}.csv")]
    assert summary["class_names"] == ["calm", "tense"]
    assert summary["earlier_confusions"][0]["class_names"] == ["negative", "neutral", "positive"]
    assert [m["classes"] for m in summary["models"]][-1] == ["calm", "tense"]
    companion = tmp_path / f"s-{new_id}.xdf"
    assert summary["recording"]["companions"][0]["path"] == str(companion)
    main = {s["info"]["name"][0]: s for s in pyxdf.load_xdf(str(tmp_path / "s.xdf"))[0]}
    events = [e[0] for e in main[f"{unique_name}-pred-events"]["time_series"]]
    assert f"outlet {unique_name}-pred source {old_sid}-{new_id} classes calm,tense" in events
    assert main[f"{unique_name}-pred"]["time_series"].shape[1] == 3
    (pred,) = pyxdf.load_xdf(str(companion))[0]
    labels = [c["label"][0] for c in pred["info"]["desc"][0]["channels"][0]["channel"]]
    assert labels == ["calm", "tense"] and len(pred["time_stamps"]) >= 4
