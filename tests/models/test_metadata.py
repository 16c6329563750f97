"""The model file's format: version 2 written and read, version 1 still read, the digest over
metadata and weights, the torch-free header reader, and one network input offline and live."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save as serialise

from models.config import ModelConfig
from models.io import load_model, save_model
from models.metadata import (
    DEMO_MODEL_PATH,
    FORMAT_VERSION,
    LossRecipe,
    ModelFileError,
    ModelMetadata,
    Preprocessing,
    Provenance,
    read_header,
    read_metadata,
)
from models.network import SICLEER, network_input
from models.preprocessing import FilterSpec, Normalisation
from offline_training.windows import SessionWindows, WindowPool, fit_normalisation
from tests.models.test_models import _rewrite_header

N_CH = 5


def _meta(**kw: object) -> ModelMetadata:
    cfg = ModelConfig(n_channels=N_CH, hidden_dims=8, output_dims=16, n_classes=2)
    norm = Normalisation.from_lists([0.0] * N_CH, [3.0, 4.0, 5.0, 6.0, 7.0])
    fields = {"config": cfg, "channel_names": ["Fp1", "F3", "F4", "T7", "T8"], "sfreq": 128.0,
              "window_samples": 64, "preprocessing": Preprocessing(norm),
              "class_names": ["fists", "feet"], "synthetic": False} | kw
    return ModelMetadata(**fields)


def _v1_file(path: Path, net: SICLEER, meta_v1: dict) -> Path:
    """A file exactly as format-1 ``save_model`` wrote it (tensor-only digest)."""
    tensors = {k: v.detach().cpu().float().contiguous() for k, v in net.state_dict().items()}
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name]
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    header = {"sicleer": json.dumps(meta_v1, sort_keys=True), "sicleer_sha256": h.hexdigest()}
    path.write_bytes(serialise(tensors, metadata=header))
    return path


def test_format_2_round_trip_keeps_every_section(tmp_path: Path) -> None:
    meta = _meta(
        provenance=Provenance(participant="P07", session="2026-12-02", recordings=("s.xdf",),
                              trials=({"recording": "s.xdf", "trial": 3, "label": "feet"},),
                              label_map={"T1": "fists", "T2": "feet"}, init_model="abc"),
        loss=LossRecipe("joint", 0.5, 0.5, True, "none"),
        preprocessing=Preprocessing(Normalisation.from_lists([0.0] * N_CH, [2.0] * N_CH),
                                    FilterSpec(1.0, 40.0, 60.0)),
    )
    net = SICLEER(meta.config)
    path = save_model(tmp_path / "m.safetensors", net, meta)
    header_only = read_metadata(path)
    loaded = load_model(path)
    for got in (header_only, loaded.meta):
        assert got.format_version == FORMAT_VERSION == 2
        assert got.provenance == meta.provenance
        assert got.loss == meta.loss
        assert got.preprocessing.filters == FilterSpec(1.0, 40.0, 60.0)
        np.testing.assert_array_equal(got.normalisation.std, meta.normalisation.std)
        assert got.class_names == ["fists", "feet"] and got.sfreq == 128.0
    assert len(loaded.digest) == 64


def test_format_1_files_still_load(tmp_path: Path) -> None:
    cfg = ModelConfig(n_channels=N_CH, hidden_dims=8, output_dims=16)
    net = SICLEER(cfg).eval()
    v1 = {"format": "sicleer-model", "format_version": 1, "config": cfg.to_dict(),
          "channel_names": ["FP1", "F3", "F4", "T7", "T8"], "sfreq": 200.0,
          "window_samples": 50, "norm_mean": [0.0] * N_CH, "norm_std": [10.0] * N_CH,
          "class_names": ["negative", "neutral", "positive"], "unit": "uV",
          "demean_windows": True, "protocol": "old", "metrics": {},
          "training": {"loss": "joint", "lambda_ce": 1.0, "alpha": 0.5, "mask": True,
                       "epochs": 3},
          "synthetic": True, "project_version": "0.1.0", "created": "2026-11-01T00:00:00+00:00"}
    path = _v1_file(tmp_path / "v1.safetensors", net, v1)
    loaded = load_model(path)
    assert loaded.meta.format_version == 1
    assert loaded.meta.preprocessing.filters is None
    assert loaded.meta.loss == LossRecipe("joint", 1.0, 0.5, True)
    x = np.random.default_rng(0).normal(0, 10, (2, N_CH, 50)).astype(np.float32)
    expected = torch.softmax(net(network_input(x, loaded.meta.normalisation)), -1)
    np.testing.assert_allclose(loaded.predict_proba(x), expected.detach().numpy(), atol=1e-5)
    assert read_metadata(path).format_version == 1
    # a format-1 digest covers the weights only: editing a weight byte is still refused
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0xFF
    (tmp_path / "flip.safetensors").write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match="weights do not match the digest"):
        load_model(tmp_path / "flip.safetensors")


def test_shipped_demo_model_is_format_2_and_loads() -> None:
    meta = read_metadata(DEMO_MODEL_PATH)
    assert meta.format_version == 2 and meta.synthetic
    assert load_model(DEMO_MODEL_PATH).meta.channel_names == meta.channel_names


def test_digest_covers_the_metadata(tmp_path: Path) -> None:
    path = save_model(tmp_path / "m.safetensors", SICLEER(_meta().config), _meta())

    def swap_classes(h: dict) -> None:
        meta = json.loads(h["__metadata__"]["sicleer"])
        meta["class_names"] = meta["class_names"][::-1]  # the app would name the wrong class
        h["__metadata__"]["sicleer"] = json.dumps(meta, sort_keys=True)

    _rewrite_header(path, swap_classes)
    with pytest.raises(ModelFileError, match="weights or metadata do not match the digest"):
        load_model(path)

    def drop_digest(h: dict) -> None:
        del h["__metadata__"]["sicleer_sha256"]

    _rewrite_header(path, drop_digest)
    with pytest.raises(ModelFileError, match="has no digest"):
        load_model(path)


def test_header_reader_names_what_the_file_is(tmp_path: Path) -> None:
    pickled = tmp_path / "model.safetensors"
    pickled.write_bytes(pickle.dumps({"w": [1.0, 2.0]}))
    zipped = tmp_path / "torch.safetensors"
    torch.save({"w": torch.zeros(2)}, zipped)  # what torch.save writes: a zip of pickles
    for path in (pickled, zipped):
        with pytest.raises(ModelFileError, match=r"not a safetensors file \(a PyTorch/pickle"):
            read_metadata(path)
        with pytest.raises(ModelFileError, match="PyTorch/pickle"):
            load_model(path)
    with pytest.raises(ModelFileError, match="is a directory"):
        load_model(tmp_path)
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    with pytest.raises(ModelFileError, match="not a safetensors file"):
        read_metadata(empty)


def test_header_reader_needs_no_torch() -> None:
    code = ("import sys; from models.metadata import DEMO_MODEL_PATH, read_metadata; "
            "meta = read_metadata(DEMO_MODEL_PATH); assert meta.config.n_channels == 62; "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, env=dict(os.environ))


def test_network_input_is_bit_identical_offline_and_live(tmp_path: Path) -> None:
    """The trainer's batch and the live engine's window give the very same network input."""
    rng = np.random.default_rng(3)
    x = rng.normal(0, 30, (40, N_CH, 64)).astype(np.float32) + 500.0  # DC offsets, as amps
    sw = SessionWindows(x, np.arange(40) % 2, np.arange(40) // 4 + 1, 1, 1)
    norm = fit_normalisation(WindowPool([(sw, np.ones(40, bool))]))
    offline = network_input(x[:8], norm)  # what offline_training.train feeds the network
    meta = _meta(preprocessing=Preprocessing(norm))
    loaded = load_model(save_model(tmp_path / "m.safetensors", SICLEER(meta.config), meta))
    seen: list[torch.Tensor] = []
    traced = loaded._forward

    def spy(t: torch.Tensor) -> torch.Tensor:
        seen.append(t.clone())
        return traced(t)

    loaded._forward = spy  # the live path: LoadedModel.predict_proba, as the engine calls it
    for k in range(8):  # the engine predicts one (1, C, T) window at a time
        loaded.predict_proba(x[k:k + 1])
        assert torch.equal(seen[-1][0], offline[k])


def test_a_header_length_that_starts_like_a_pickle_is_still_read(tmp_path: Path) -> None:
    """1 header length in 256 starts with the byte 0x80 (a pickle's first byte): such a file
    is a safetensors file all the same (this refused a model whose header was 3968 bytes)."""
    pad = next(k for k in range(512)
               if serialise({"w": torch.zeros(2)}, metadata={"pad": "x" * k})[0] == 0x80)
    path = tmp_path / "m.safetensors"
    path.write_bytes(serialise({"w": torch.zeros(2)}, metadata={"pad": "x" * pad}))
    assert read_header(path) == {"pad": "x" * pad}
