"""SI-CLEER encoder: per-timestamp projection, timestamp masking, dilated residual CNN.

Layout convention: the encoder takes ``(batch, time, channels)`` and returns
``(batch, time, output_dims)``, one representation per input sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from models.config import ModelConfig


def timestamp_mask(batch: int, time: int, p: float, device: torch.device | str = "cpu",
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Boolean keep-mask, ``True`` where a latent timestamp survives.

    Each (sample, timestamp) is dropped independently with probability ``p``.

    Returns:
        Tensor of shape (batch, time), dtype bool.
    """
    draws = torch.rand(batch, time, device=device, generator=generator)
    return draws >= p


@dataclass(frozen=True)
class EncoderNoise:
    """The random draws of one training pass of the encoder, given from outside.

    Training draws them inside :meth:`Encoder.forward` from the global generator; folds
    trained side by side (:mod:`offline_training.stacked`) draw each fold's from its own
    generator, in the same order, and hand them in, so that a fold sees what it would alone.

    Attributes:
        keep: (batch, time) timestamp keep-mask (bool) or None for no masking.
        drop: (batch, output_dims, time) dropout multiplier (0 or ``1 / (1 - p)``) or None.
    """

    keep: torch.Tensor | None = None
    drop: torch.Tensor | None = None


def draw_noise(cfg: ModelConfig, batch: int, time: int, mask: bool,
               generator: torch.Generator, device: torch.device | str = "cpu") -> EncoderNoise:
    """Draw what one training pass of :meth:`Encoder.forward` would draw, in its order.

    With ``generator`` in the state of the global generator, the values equal the ones the
    encoder draws itself (CPU): first the timestamp mask (``mask`` and ``cfg.mask_prob > 0``),
    then the dropout noise (``cfg.repr_dropout > 0``), each element by element as
    :func:`torch.nn.functional.dropout` draws it.
    """
    keep = drop = None
    if mask and cfg.mask_prob > 0:
        keep = timestamp_mask(batch, time, cfg.mask_prob, device=device, generator=generator)
    p = cfg.repr_dropout
    if p > 0:
        drop = torch.empty(batch, cfg.output_dims, time, device=device)
        drop.bernoulli_(1 - p, generator=generator).div_(1 - p)
    return EncoderNoise(keep, drop)


class SamePadConv(nn.Module):
    """1-D dilated convolution whose output has the same length as its input.

    For inference on the CPU, PyTorch runs dilated convolutions through a slow generic path
    (half the run time of a single window); there the same convolution is computed as one
    matrix product over ``kernel_size`` shifted copies of the input, with the very same
    weights (about twice as fast; figures in docs/RESULTS.md). With gradients (training on
    large batches) ``nn.Conv1d`` is as fast and keeps less for the backward pass, so it runs
    as usual, as it does on GPUs and without dilation.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, dilation: int) -> None:
        super().__init__()
        span = (kernel_size - 1) * dilation + 1
        self.conv = nn.Conv1d(in_ch, out_ch, kernel_size, padding=span // 2, dilation=dilation)
        self._trim = 1 if span % 2 == 0 else 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, in_ch, time) -> (batch, out_ch, time)."""
        conv = self.conv
        if conv.dilation[0] > 1 and x.device.type == "cpu" and not torch.is_grad_enabled():
            out = self._shifted_matmul(x)
        else:
            out = conv(x)
        return out[:, :, : out.shape[-1] - self._trim] if self._trim else out

    def _shifted_matmul(self, x: torch.Tensor) -> torch.Tensor:
        """``conv(x)`` as ``W (out, in*k) @ [x shifted by 0, d, 2d, ...] (in*k, time)``."""
        conv = self.conv
        k, d, pad = conv.kernel_size[0], conv.dilation[0], conv.padding[0]
        padded = F.pad(x, (pad, pad))
        length = padded.shape[-1] - (k - 1) * d
        cols = torch.stack([padded[:, :, i * d: i * d + length] for i in range(k)], dim=2)
        weight = conv.weight.reshape(conv.out_channels, -1)  # (out, in*k), in-major
        out = torch.matmul(weight, cols.reshape(x.shape[0], -1, length))
        return out + conv.bias[:, None]


class ResidualBlock(nn.Module):
    """GELU -> conv -> GELU -> conv, plus a residual (1x1 projection when widths change)."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, dilation: int) -> None:
        super().__init__()
        self.conv1 = SamePadConv(in_ch, out_ch, kernel_size, dilation)
        self.conv2 = SamePadConv(out_ch, out_ch, kernel_size, dilation)
        self.project = nn.Conv1d(in_ch, out_ch, 1) if in_ch != out_ch else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, in_ch, time) -> (batch, out_ch, time)."""
        residual = x if self.project is None else self.project(x)
        h = self.conv1(F.gelu(x))
        h = self.conv2(F.gelu(h))
        return h + residual


class DilatedEncoder(nn.Module):
    """Stack of residual blocks with dilations 1, 2, 4, ...; the last one widens to output."""

    def __init__(self, hidden: int, output: int, depth: int, kernel_size: int) -> None:
        super().__init__()
        widths = [hidden] * (depth - 1) + [output]
        blocks = []
        in_ch = hidden
        for i, out_ch in enumerate(widths):
            blocks.append(ResidualBlock(in_ch, out_ch, kernel_size, dilation=2**i))
            in_ch = out_ch
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, hidden, time) -> (batch, output, time)."""
        return self.blocks(x)


class Encoder(nn.Module):
    """SI-CLEER / TS2Vec-style time-series encoder.

    Steps: Linear(channels -> hidden) on every timestamp; during training (when asked) zero
    each latent timestamp with probability ``mask_prob``; dilated residual CNN; dropout.
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.input_proj = nn.Linear(cfg.n_channels, cfg.hidden_dims)
        self.cnn = DilatedEncoder(cfg.hidden_dims, cfg.output_dims, cfg.depth, cfg.kernel_size)
        self.dropout = nn.Dropout(cfg.repr_dropout)

    def forward(self, x: torch.Tensor, mask: bool = False,
                noise: EncoderNoise | None = None) -> torch.Tensor:
        """Encode.

        Args:
            x: (batch, time, n_channels), normalised EEG.
            mask: apply timestamp masking (only has an effect in training mode).
            noise: the pass's mask and dropout drawn outside (:func:`draw_noise`); when
                given, it replaces ``mask``, the training mode and the module's own draws.

        Returns:
            (batch, time, output_dims) representations.
        """
        if x.ndim != 3 or x.shape[-1] != self.cfg.n_channels:
            raise ValueError(
                f"encoder expects (batch, time, {self.cfg.n_channels}), got {tuple(x.shape)}"
            )
        h = self.input_proj(x)
        keep = noise.keep if noise is not None else None
        if noise is None and mask and self.training and self.cfg.mask_prob > 0:
            keep = timestamp_mask(h.shape[0], h.shape[1], self.cfg.mask_prob, device=h.device)
        if keep is not None:
            h = h * keep.unsqueeze(-1).to(h.dtype)
        h = self.cnn(h.transpose(1, 2))
        if noise is None:
            h = self.dropout(h)
        elif noise.drop is not None:
            h = h * noise.drop.to(h.dtype)
        return h.transpose(1, 2)
