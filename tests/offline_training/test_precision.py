"""Training precision: ``--precision`` resolution, bf16 training on the CPU, the report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import models.device
from models.device import autocast, resolve_precision
from offline_training.cli import build_parser
from offline_training.config import TrainConfig
from offline_training.train import fit, predict
from offline_training.windows import fit_normalisation
from tests.offline_training.test_training import _cfg, _toy_pool


def test_auto_takes_bf16_only_where_it_pays(monkeypatch: pytest.MonkeyPatch) -> None:
    cpu = torch.device("cpu")
    assert resolve_precision("fp32", cpu) == "fp32"
    assert resolve_precision("bf16", cpu) == "bf16"
    assert resolve_precision("auto", torch.device("cuda")) == "bf16"
    monkeypatch.setattr(models.device, "_cpu_has_bf16_matrix_units", lambda: False)
    assert resolve_precision("auto", cpu) == "fp32"
    monkeypatch.setattr(models.device, "_cpu_has_bf16_matrix_units", lambda: True)
    assert resolve_precision("auto", cpu) == "bf16"
    with pytest.raises(ValueError, match="precision must be one of"):
        resolve_precision("fp16", cpu)


def test_autocast_of_each_precision() -> None:
    w = torch.randn(4, 4)
    with autocast(torch.device("cpu"), "bf16"):
        assert (w @ w).dtype == torch.bfloat16
    with autocast(torch.device("cpu"), "fp32"):
        assert (w @ w).dtype == torch.float32


def test_config_and_command_line_know_the_precision(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="precision"):
        TrainConfig(data=tmp_path, out=tmp_path, precision="half")
    args = build_parser().parse_args(["--data", str(tmp_path), "--out", str(tmp_path),
                                      "--precision", "bf16"])
    assert args.precision == "bf16"
    a = TrainConfig(data=tmp_path, out=tmp_path, precision="fp32").fingerprint()
    b = TrainConfig(data=tmp_path, out=tmp_path, precision="bf16").fingerprint()
    assert a != b  # a finished fold of one precision is not reused for the other


@pytest.mark.slow
def test_bf16_training_learns_and_differs_from_fp32(tmp_path: Path) -> None:
    """Two toy fits, fp32 and bf16 (about 15-25 s on 2 cores)."""
    pool = _toy_pool(96)
    norm = fit_normalisation(pool)
    test = _toy_pool(60, seed=1)
    nets = {}
    for precision in ("fp32", "bf16"):
        cfg = _cfg(tmp_path, epochs=15, loss="joint", precision=precision)
        net, hist, _ = fit(pool, norm, cfg, torch.device("cpu"), 0)
        assert np.isfinite(hist.loss).all()
        acc = (predict(net, test, norm, torch.device("cpu")).argmax(1) == test.y).mean()
        assert acc > 0.8, precision
        assert all(p.dtype == torch.float32 for p in net.parameters())  # fp32 master weights
        nets[precision] = net
    assert not torch.equal(nets["fp32"].head.fc.weight, nets["bf16"].head.fc.weight)
