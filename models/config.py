"""Architecture hyper-parameters of the SI-CLEER network, in one typed place."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters of :class:`models.SICLEER`.

    Attributes:
        n_channels: EEG channels at the input (62 for SEED).
        hidden_dims: width of the per-timestamp input projection and of the first four
            residual blocks.
        output_dims: width of the representation (last residual block's output).
        depth: number of residual blocks; block ``i`` uses dilation ``2**i``.
        kernel_size: temporal kernel of every dilated convolution (samples).
        mask_prob: probability that one latent timestamp is zeroed during training.
        repr_dropout: dropout on the output representation during training.
        n_classes: classifier outputs (negative, neutral, positive).
        clf_channels: width of the classifier's 1-D convolution.
    """

    n_channels: int = 62
    hidden_dims: int = 64
    output_dims: int = 320
    depth: int = 5
    kernel_size: int = 3
    mask_prob: float = 0.5
    repr_dropout: float = 0.1
    n_classes: int = 3
    clf_channels: int = 64

    def __post_init__(self) -> None:
        for name in ("n_channels", "hidden_dims", "output_dims", "depth", "kernel_size",
                     "n_classes", "clf_channels"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"ModelConfig.{name} must be a positive integer, got {value!r}")
        if not 0.0 <= self.mask_prob < 1.0:
            raise ValueError(f"ModelConfig.mask_prob must be in [0, 1), got {self.mask_prob!r}")
        if not 0.0 <= self.repr_dropout < 1.0:
            raise ValueError(
                f"ModelConfig.repr_dropout must be in [0, 1), got {self.repr_dropout!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dictionary of every field."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Build from :meth:`to_dict` output; unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown ModelConfig fields: {', '.join(unknown)}")
        return cls(**data)
