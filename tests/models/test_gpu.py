"""On a CUDA device: training in bf16 and fp32, float32 evaluation, the model on the GPU.

Skipped without CUDA (CI has none); ``benchmarks/gpu.sh`` runs them on a GPU machine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models import load_model
from offline_training.train import fit, predict
from offline_training.windows import fit_normalisation
from tests.helpers import make_model_file
from tests.offline_training.test_training import _cfg, _toy_pool

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")]
CUDA = torch.device("cuda")


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_training_on_the_gpu_learns(tmp_path: Path, precision: str) -> None:
    pool = _toy_pool(96)
    norm = fit_normalisation(pool)
    cfg = _cfg(tmp_path, epochs=15, loss="joint", precision=precision, device="cuda")
    net, hist, _ = fit(pool, norm, cfg, CUDA, 0)
    assert next(net.parameters()).device.type == "cuda"
    assert np.isfinite(hist.loss).all()
    test = _toy_pool(60, seed=1)
    assert (predict(net, test, norm, CUDA).argmax(1) == test.y).mean() > 0.8


def test_a_model_file_predicts_on_the_gpu_as_on_the_cpu(tmp_path: Path) -> None:
    path = make_model_file(tmp_path / "m.safetensors", channels=["C3", "C4", "Cz", "Fz"])
    windows = np.random.default_rng(0).normal(0, 20, (8, 4, 200)).astype(np.float32)
    on_cpu = load_model(path, "cpu").predict_proba(windows)
    on_gpu = load_model(path, "cuda").predict_proba(windows)
    np.testing.assert_allclose(on_gpu, on_cpu, atol=1e-4)
