"""The SI-CLEER network: encoder plus classification head, and its input."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from models.config import ModelConfig
from models.encoder import Encoder, EncoderNoise
from models.preprocessing import Normalisation

__all__ = ["SICLEER", "ClassifierHead", "network_input"]


def network_input(windows: np.ndarray, normalisation: Normalisation,
                  device: torch.device | str = "cpu") -> torch.Tensor:
    """What the network sees for a batch of windows: the one path of training and inference.

    Args:
        windows: (batch, n_channels, T) microvolts, channels in the model's order.
        normalisation: the model's :class:`models.preprocessing.Normalisation`.
        device: where the tensor goes.

    Returns:
        (batch, T, n_channels) float32 tensor (the network's time-major layout).
    """
    return torch.from_numpy(normalisation.apply(windows)).to(device).transpose(1, 2)


class ClassifierHead(nn.Module):
    """Conv1d over the representation -> max-pool over time -> ReLU -> Linear -> logits."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.conv = nn.Conv1d(cfg.output_dims, cfg.clf_channels, kernel_size=3, padding=1)
        self.fc = nn.Linear(cfg.clf_channels, cfg.n_classes)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(batch, time, output_dims) -> (batch, n_classes) logits."""
        h = self.conv(z.transpose(1, 2))
        h = torch.amax(h, dim=-1)
        return self.fc(torch.relu(h))


class SICLEER(nn.Module):
    """Encoder trained with the hierarchical contrastive loss, plus a classifier head."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.head = ClassifierHead(cfg)

    def encode(self, x: torch.Tensor, mask: bool = False,
               noise: EncoderNoise | None = None) -> torch.Tensor:
        """(batch, time, n_channels) -> (batch, time, output_dims); ``noise``: see
        :meth:`models.encoder.Encoder.forward`."""
        return self.encoder(x, mask=mask, noise=noise)

    def classify(self, z: torch.Tensor) -> torch.Tensor:
        """(batch, time, output_dims) -> (batch, n_classes) logits."""
        return self.head(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, time, n_channels) normalised EEG -> (batch, n_classes) logits, no masking."""
        return self.head(self.encoder(x, mask=False))
