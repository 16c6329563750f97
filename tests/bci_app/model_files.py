"""Model files of other shapes than SEED's, for the tests of the live app that follow them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.preprocessing import FilterSpec
from tests.helpers import make_model_file

MOTOR_CLASSES = ["fists", "feet"]
MOTOR_CHANNELS = ["FC3", "FC1", "FCz", "FC2", "FC4", "C5", "C3", "C1", "Cz", "C2", "C4", "C6",
                  "CP3", "CP4", "T7", "T8"]
"""16 motor-strip channels: no frontal channel (so no F3/F4), T7/T8 temporal."""
MOTOR_FILTERS = FilterSpec(8.0, 30.0, None, 4)
"""The mu/beta chain the motor model declares."""

EMOTION4_CLASSES = ["neutral", "sad", "fear", "happy"]
"""SEED-IV's four classes (neutral keeps SEED's colour)."""
CAP32_CHANNELS = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "FC5", "FC1", "FC2", "FC6", "T7",
                  "C3", "Cz", "C4", "T8", "TP9", "TP10", "CP5", "CP1", "CP2", "CP6", "P7", "P3",
                  "Pz", "P4", "P8", "PO9", "O1", "Oz", "O2", "PO10"]
"""A common 32-channel 10-20 cap (F3 and F4 present)."""


def motor_model(path: Path) -> Path:
    """Two classes (fists, feet), 16 channels without F3/F4, an 8-30 Hz chain, no notch."""
    return make_model_file(path, channels=MOTOR_CHANNELS, class_names=MOTOR_CLASSES,
                           filters=MOTOR_FILTERS)


def emotion4_model(path: Path) -> Path:
    """Four classes, 32 channels, no filter chain declared (the live default chain runs)."""
    return make_model_file(path, channels=CAP32_CHANNELS, class_names=EMOTION4_CLASSES, seed=1)


def tones(sfreq: float, n_channels: int, freqs: tuple[float, ...] = (3.0, 15.0, 60.0),
          amplitude: float = 20.0) -> object:
    """A pusher signal: equal sines at ``freqs`` on every channel plus a little noise (uV)."""

    def signal(idx: np.ndarray) -> np.ndarray:
        t = idx / sfreq
        x = np.random.default_rng(int(idx[0])).normal(0, 1.0, (idx.size, n_channels))
        for f in freqs:
            x += amplitude * np.sin(2 * np.pi * f * t)[:, None]
        return x

    return signal
