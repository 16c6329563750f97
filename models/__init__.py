"""SI-CLEER: encoder, hierarchical contrastive loss, classifier head and model file.

Also the home of what the trainer and the live app share: :mod:`models.eeg` (channels,
regions, bands, montage), :mod:`models.preprocessing` (normalisation, filter defaults),
:mod:`models.metadata` (the model file's description, torch-free), :mod:`models.device`.

The names below are imported on first use: ``import models.eeg.bands`` or
``from models.metadata import DEMO_MODEL_PATH`` does not load torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from models._version import __version__

_HOMES = {
    "DEMO_MODEL_PATH": "metadata",
    "ModelFileError": "metadata",
    "ModelMetadata": "metadata",
    "ModelConfig": "config",
    "CropPlan": "crops",
    "overlap_parts": "crops",
    "plan_crops": "crops",
    "take_crops": "crops",
    "Encoder": "encoder",
    "timestamp_mask": "encoder",
    "LoadedModel": "io",
    "load_model": "io",
    "save_model": "io",
    "hierarchical_contrastive_loss": "losses",
    "instance_contrastive_loss": "losses",
    "temporal_contrastive_loss": "losses",
    "SICLEER": "network",
    "ClassifierHead": "network",
}

__all__ = ["__version__", *sorted(_HOMES)]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
