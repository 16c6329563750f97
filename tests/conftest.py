"""Shared pytest configuration and fixtures.

Importing this module points liblsl at ``tests/lsl_api.cfg`` (ResolveScope = machine) before any
LSL library loads, so tests never see or disturb streams on other machines.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
LSL_API_CFG = TESTS_DIR / "lsl_api.cfg"
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
"""Read-only public data shared by the team (``../shared/data`` from the repo root)."""

os.environ.setdefault("LSLAPICFG", str(LSL_API_CFG))


def shared_data(*parts: str) -> Path:
    """Path under ``../shared/data``; skips the calling test when it does not exist."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A stream name no other test (or concurrent run) uses: ``test-<test name>-<uuid8>``."""
    test = request.node.name.replace("[", "-").replace("]", "")[:40]
    return f"test-{test}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def seed_folder(tmp_path: Path) -> Path:
    """A synthetic SEED folder (one subject, one session, 3-s trials); returns ``SEED/``."""
    from offline_training.synth import generate_seed_folder

    root = tmp_path / "SEED"
    generate_seed_folder(root, subjects=(1,), n_sessions=1, trial_seconds=3.0, seed=0)
    return root


@pytest.fixture
def seed_session_file(seed_folder: Path) -> Path:
    """The session .mat file of ``seed_folder``: 15 trials of 601 samples (62, 601), uV."""
    files = sorted((seed_folder / "Preprocessed_EEG").glob("1_*.mat"))
    assert len(files) == 1, files
    return files[0]


def make_model_file(path: Path, channels: list[str] | None = None, sfreq: float = 200.0,
                    window_samples: int = 200, seed: int = 0) -> Path:
    """A small SI-CLEER model file with random weights (for live-path tests)."""
    import torch

    from models import SICLEER, ModelConfig, ModelMetadata, save_model
    from offline_training.seed import SEED_CHANNELS

    names = list(channels or SEED_CHANNELS)
    torch.manual_seed(seed)
    cfg = ModelConfig(n_channels=len(names), hidden_dims=16, output_dims=32)
    meta = ModelMetadata(config=cfg, channel_names=names, sfreq=sfreq,
                         window_samples=window_samples, norm_mean=[0.0] * len(names),
                         norm_std=[20.0] * len(names), synthetic=True, protocol="test")
    return save_model(path, SICLEER(cfg), meta)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of a small random-weight model over the 62 SEED channels at 200 Hz, 1-s windows."""
    return make_model_file(tmp_path_factory.mktemp("model") / "tiny.safetensors")
