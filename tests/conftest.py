"""Shared pytest configuration and fixtures (helpers live in :mod:`tests.helpers`).

Importing this module points liblsl at ``tests/lsl_api.cfg`` (ResolveScope = machine) before any
LSL library loads, so tests never see or disturb streams on other machines.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tests.helpers import LSL_API_CFG, make_model_file

os.environ.setdefault("LSLAPICFG", str(LSL_API_CFG))


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


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of a small random-weight model over the 62 SEED channels at 200 Hz, 1-s windows."""
    return make_model_file(tmp_path_factory.mktemp("model") / "tiny.safetensors")
