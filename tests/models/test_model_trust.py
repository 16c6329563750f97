"""Model files that must not be trusted: non-finite weights, metadata values no real EEG model
has, and files that are not model files at all, refused with a message that says which."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as serialise

from models.config import ModelConfig
from models.io import _tensor_digest, load_model, save_model
from models.metadata import (
    BOUNDS,
    DIGEST_KEY,
    METADATA_KEY,
    ModelFileError,
    ModelMetadata,
    Preprocessing,
    metadata_digest,
    read_metadata,
)
from models.network import SICLEER
from models.preprocessing import Normalisation
from tests.models.test_models import _rewrite_header

N_CH = 4


def _meta(**kw: object) -> ModelMetadata:
    cfg = ModelConfig(n_channels=N_CH, hidden_dims=8, output_dims=16)
    fields = {"config": cfg, "channel_names": ["F3", "F4", "T7", "T8"], "sfreq": 200.0,
              "window_samples": 200,
              "preprocessing": Preprocessing(Normalisation.from_lists([0.0] * N_CH,
                                                                       [10.0] * N_CH))} | kw
    return ModelMetadata(**fields)


def _diverged() -> SICLEER:
    net = SICLEER(_meta().config)
    with torch.no_grad():
        next(net.parameters())[0, 0] = float("nan")
    return net


def test_non_finite_weights_are_refused_at_export(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    with pytest.raises(ModelFileError, match=r"NaN or infinite weights in 1 tensor\(s\)") as info:
        save_model(path, _diverged(), _meta())
    assert "training diverged" in str(info.value) and str(path) in str(info.value)
    assert not path.exists() and not list(tmp_path.iterdir())  # nothing written


def test_non_finite_weights_are_refused_at_load(tmp_path: Path) -> None:
    """A file written without the check (an older version, another tool), digest intact."""
    tensors = {k: v.detach().float().contiguous() for k, v in _diverged().state_dict().items()}
    text = _meta().to_json()
    header = {METADATA_KEY: text, DIGEST_KEY: metadata_digest(text, _tensor_digest(tensors))}
    path = tmp_path / "diverged.safetensors"
    path.write_bytes(serialise(tensors, metadata=header))
    with pytest.raises(ModelFileError, match="NaN or infinite weights") as info:
        load_model(path)
    assert str(path) in str(info.value) and "diverged training run" in str(info.value)


@pytest.mark.parametrize("edit, message", [
    ({"sfreq": 1e9}, r"sfreq = 1e\+09 is outside the range a real EEG model can have"),
    ({"sfreq": 0.5}, "sfreq = 0.5 is outside the range"),
    ({"sfreq": True}, "sfreq must be a number, got True"),
    ({"window_samples": 2**31}, "window_samples = 2147483648 is outside the range"),
    ({"window_samples": 200.5}, "window_samples must be a whole number"),
    ({"window_samples": 4096 * 40}, "window_samples = 163840 is outside the range"),
    ({"config": {"n_channels": 100_000}}, "config.n_channels = 100000 is outside the range"),
    ({"config": {"depth": 60}}, "config.depth = 60 is outside the range"),
    ({"class_names": ["negative", "negative", "positive"]}, "class_names contains duplicates"),
    ({"channel_names": ["F3", "", "T7", "T8"]}, "channel_names holds entries that are not"),
])
def test_absurd_metadata_is_refused_with_the_field_and_value(edit: dict, message: str,
                                                             tmp_path: Path) -> None:
    path = save_model(tmp_path / "m.safetensors", SICLEER(_meta().config), _meta())

    def apply(header: dict) -> None:
        meta = json.loads(header["__metadata__"][METADATA_KEY])
        for key, value in edit.items():
            if key == "config":
                meta["config"].update(value)
            else:
                meta[key] = value
        header["__metadata__"][METADATA_KEY] = json.dumps(meta, sort_keys=True)

    _rewrite_header(path, apply)
    for read in (read_metadata, load_model):  # refused before anything is allocated
        with pytest.raises(ModelFileError, match=message) as info:
            read(path)
        assert str(path) in str(info.value)


def test_bounds_admit_real_models() -> None:
    for sfreq, window in ((128.0, 256), (200.0, 200), (1000.0, 4000), (4096.0, 8192)):
        _meta(sfreq=sfreq, window_samples=window).validate()
    assert BOUNDS["window_seconds"][1] == 30.0


def test_app_names_a_directory_given_as_the_model(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from bci_app.cli import main

    assert main(["--headless", "--model", str(tmp_path), "--device", "cpu"]) == 3
    err = capsys.readouterr().err
    assert f"{tmp_path} is a directory, not a model file" in err and "Traceback" not in err
