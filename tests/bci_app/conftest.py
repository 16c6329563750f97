"""Fixtures of the live-app tests: model files with other classes and channels than SEED's."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bci_app.model_files import emotion4_model, motor_model


@pytest.fixture(scope="session")
def motor_model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two classes (fists, feet), 16 channels without F3/F4, an 8-30 Hz chain."""
    return motor_model(tmp_path_factory.mktemp("motor") / "motor.safetensors")


@pytest.fixture(scope="session")
def emotion4_model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four classes, 32 channels, no filter chain declared."""
    return emotion4_model(tmp_path_factory.mktemp("emotion4") / "emotion4.safetensors")
