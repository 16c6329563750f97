"""``sicleer-train --init MODEL``: fine-tune a pretrained model file on a lab's recordings, with
its channels mapped as the live app maps a stream, a new head for another class set,
``--freeze-encoder``, and the three-row comparison (as it is, fine-tuned, from scratch).

Recordings are FIF files written here (:func:`tests.offline_training.test_train_recordings.
write_fif`: a class-dependent rhythm over noise, 128 Hz); the starting model is exported by a
first tiny training run. Times: the 2-core development machine, idle.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from models import load_model
from models.exit_codes import ExitCode
from models.metadata import read_metadata
from models.preprocessing import FilterSpec
from offline_training.pretrained import Pretrained
from tests.offline_training.test_recordings import TEN_TWENTY_32
from tests.offline_training.test_train_recordings import TINY, _train, write_fif

LABELS = "stim_calm=calm,stim_joy=joy"
ALTERNATING = ["calm", "joy"] * 5


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model on 8 channels at 128 Hz (calm, joy), exported from one recording (about 10 s)."""
    folder = tmp_path_factory.mktemp("pretrained")
    rec = write_fif(folder / "A_raw.fif", ALTERNATING, seed=1)
    model = folder / "start.safetensors"
    code, _, err = _train("--data", rec, "--labels", LABELS, "--out", folder / "run",
                          "--export", model, *TINY)
    assert code == ExitCode.OK, err
    return model


def _report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


def test_fine_tuning_reports_the_model_as_it_is_fine_tuned_and_from_scratch(
        tmp_path: Path, pretrained: Path) -> None:
    """Same classes: the head is kept; the report has the three rows on the same test trials
    and the exported model keeps the pretrained channels, rate and chain (about 15 s)."""
    rec = write_fif(tmp_path / "B_raw.fif", ALTERNATING, seed=2)
    out, model = tmp_path / "run", tmp_path / "tuned.safetensors"
    code, stdout, err = _train("--data", rec, "--labels", LABELS, "--out", out, "--init",
                               pretrained, "--export", model, *TINY[:-1])
    assert code == ExitCode.OK, err
    report = _report(out)
    fold = report["folds"][0]
    assert fold["init"]["head_kept"] is True and fold["init"]["frozen_encoder"] is False
    for key in ("pretrained", "scratch"):
        assert 0.0 <= fold[key]["accuracy"] <= 1.0
        assert sum(map(sum, fold[key]["confusion"])) == fold["n_test"]
    assert "as it is" in stdout and "trained from scratch" in stdout
    md = (out / "report.md").read_text()
    assert "## Starting from a pretrained model" in md and "fine-tuned (encoder and head)" in md
    start, tuned = read_metadata(pretrained), read_metadata(model)
    assert tuned.channel_names == start.channel_names and tuned.sfreq == start.sfreq
    assert tuned.preprocessing.filters == start.preprocessing.filters
    assert tuned.training["init"] == str(pretrained)


def test_another_class_set_gets_a_new_head_and_frozen_encoder_stays(
        tmp_path: Path, pretrained: Path) -> None:
    """Three classes on a two-class model: a new head, "as it is" not applicable; with
    --freeze-encoder the exported encoder equals the pretrained one (about 10 s)."""
    labels = ["calm", "joy", "fear"] * 4
    rec = write_fif(tmp_path / "C_raw.fif", labels, seed=3)
    out, model = tmp_path / "run", tmp_path / "three.safetensors"
    code, stdout, err = _train("--data", rec, "--labels",
                               "stim_calm=calm,stim_joy=joy,stim_fear=fear", "--out", out,
                               "--init", pretrained, "--freeze-encoder", "--no-scratch",
                               "--export", model, *TINY[:-1])
    assert code == ExitCode.OK, err
    fold = _report(out)["folds"][0]
    assert fold["init"]["head_kept"] is False and "skipped" in fold["pretrained"]
    assert "scratch" not in fold
    assert "not applicable" in stdout
    before, after = load_model(pretrained).net, load_model(model).net
    assert after.cfg.n_classes == 3
    for (name, a), b in zip(before.encoder.state_dict().items(),
                            after.encoder.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert "head only (--freeze-encoder)" in (out / "report.md").read_text()


def test_channels_are_mapped_as_live_missing_ones_refused_by_name(
        tmp_path: Path, pretrained: Path) -> None:
    """A recording with one model channel missing (interpolated, noted) and extra channels
    trains; one without most of them is refused naming them (about 8 s)."""
    names = list(read_metadata(pretrained).channel_names)
    shifted = [*names[1:], *TEN_TWENTY_32[8:11]]  # the first model channel missing
    rec = write_fif(tmp_path / "D_raw.fif", ALTERNATING, names=shifted, seed=4)
    out = tmp_path / "run"
    code, _, err = _train("--data", rec, "--labels", LABELS, "--out", out, "--init",
                          pretrained, "--no-scratch", *TINY)
    assert code == ExitCode.OK, err
    notes = " ".join(_report(out)["data"]["notes"])
    assert "interpolated" in notes and names[0] in notes
    far = write_fif(tmp_path / "E_raw.fif", ALTERNATING, names=TEN_TWENTY_32[20:28], seed=5)
    code, _, err = _train("--data", far, "--labels", LABELS, "--out", tmp_path / "run2",
                          "--init", pretrained, *TINY)
    assert code == ExitCode.BAD_INPUT
    assert "E_raw.fif" in err and "does not fit --init start.safetensors" in err
    assert names[0] in err


def test_options_that_contradict_the_model_file_are_refused(pretrained: Path,
                                                            tmp_path: Path) -> None:
    pre = Pretrained.read(pretrained)
    pre.check_options(None, 1.0, FilterSpec())  # the option defaults: fine
    with pytest.raises(ValueError, match="--sfreq 200"):
        pre.check_options(200.0, 1.0, FilterSpec())
    with pytest.raises(ValueError, match="--window-seconds 1"):
        pre.check_options(None, 2.0, FilterSpec())
    with pytest.raises(ValueError, match="leave the filter options out"):
        pre.check_options(None, 1.0, FilterSpec(8.0, 30.0, None, 4))
    with pytest.raises(ValueError, match="no filter"):
        pre.check_options(None, 1.0, None)
    rec = write_fif(tmp_path / "F_raw.fif", ALTERNATING)
    code, _, err = _train("--data", rec, "--labels", LABELS, "--out", tmp_path / "o",
                          "--freeze-encoder", *TINY)
    assert code == ExitCode.USAGE and "--freeze-encoder needs --init" in err
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 64)
    code, _, err = _train("--data", rec, "--labels", LABELS, "--out", tmp_path / "o2",
                          "--init", bad, *TINY)
    assert code == ExitCode.BAD_INPUT and "--init" in err and "bad.safetensors" in err


def test_a_new_head_is_reproducible_for_a_seed(pretrained: Path) -> None:
    pre = Pretrained.read(pretrained)
    (a, kept), (b, _) = (pre.network(["x", "y", "z"], "cpu", seed=3) for _ in range(2))
    assert not kept and a.cfg.n_classes == 3
    for wa, wb in zip(a.head.state_dict().values(), b.head.state_dict().values(), strict=True):
        assert torch.equal(wa, wb)
    c, kept = pre.network(pre.class_names, "cpu", seed=3)
    assert kept and torch.equal(next(iter(c.head.state_dict().values())),
                                next(iter(load_model(pretrained).net.head.state_dict().values())))
