"""Helpers shared by the tests (import them from here, never from ``conftest``)."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
LSL_API_CFG = TESTS_DIR / "lsl_api.cfg"
"""liblsl configuration of the tests: streams are resolved on this machine only."""
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
"""Read-only public data shared by the team (``../shared/data`` from the repo root)."""


def shared_data(*parts: str) -> Path:
    """Path under ``../shared/data``; skips the calling test when it does not exist."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


def make_model_file(path: Path, channels: list[str] | None = None, sfreq: float = 200.0,
                    window_samples: int = 200, seed: int = 0,
                    class_names: list[str] | None = None) -> Path:
    """A small SI-CLEER model file with random weights (for live-path tests)."""
    import torch

    from models import SICLEER, ModelConfig, ModelMetadata, save_model
    from models.eeg.seed_layout import SEED_CHANNELS, SEED_CLASS_NAMES
    from models.metadata import Preprocessing
    from models.preprocessing import Normalisation

    names = list(channels or SEED_CHANNELS)
    classes = list(class_names or SEED_CLASS_NAMES)
    torch.manual_seed(seed)
    cfg = ModelConfig(n_channels=len(names), hidden_dims=16, output_dims=32,
                      n_classes=len(classes))
    norm = Normalisation.from_lists([0.0] * len(names), [20.0] * len(names))
    meta = ModelMetadata(config=cfg, channel_names=names, sfreq=sfreq,
                         window_samples=window_samples, preprocessing=Preprocessing(norm),
                         class_names=classes, synthetic=True, protocol="test")
    return save_model(path, SICLEER(cfg), meta)
