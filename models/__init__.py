"""SI-CLEER: encoder, hierarchical contrastive loss, classifier head and model file."""

from models._version import __version__
from models.config import ModelConfig
from models.crops import CropPlan, overlap_parts, plan_crops, take_crops
from models.encoder import Encoder, timestamp_mask
from models.io import (
    DEMO_MODEL_PATH,
    LoadedModel,
    ModelFileError,
    ModelMetadata,
    load_model,
    save_model,
)
from models.losses import (
    hierarchical_contrastive_loss,
    instance_contrastive_loss,
    temporal_contrastive_loss,
)
from models.network import SICLEER, ClassifierHead

__all__ = [
    "DEMO_MODEL_PATH",
    "SICLEER",
    "ClassifierHead",
    "CropPlan",
    "Encoder",
    "LoadedModel",
    "ModelConfig",
    "ModelFileError",
    "ModelMetadata",
    "__version__",
    "hierarchical_contrastive_loss",
    "instance_contrastive_loss",
    "load_model",
    "overlap_parts",
    "plan_crops",
    "save_model",
    "take_crops",
    "temporal_contrastive_loss",
    "timestamp_mask",
]
