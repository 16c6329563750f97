"""Hierarchical (multi-granularity) contrastive loss of SI-CLEER, TS2Vec semantics.

``z1`` and ``z2`` are two views of the same samples, shape (batch, time, features), aligned
timestamp by timestamp. Similarities are plain dot products, computed in float32 whatever
autocast is active (the encoder may run in bfloat16; the softmax over hundreds of candidates
stays exact).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _paired_nll(z: torch.Tensor, n: int) -> torch.Tensor:
    """Mean negative log-softmax of positive pairs among ``2n`` candidates.

    Args:
        z: (groups, 2n, features): rows ``i`` and ``n + i`` are the two views of item ``i``;
            every other row of the same group is a negative.

    Returns:
        Scalar: mean over groups, items and both directions of ``-log softmax`` of the
        positive partner, the self-similarity excluded from the softmax.
    """
    sim = z @ z.transpose(1, 2)  # (groups, 2n, 2n)
    eye = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    sim = sim.masked_fill(eye, float("-inf"))
    logp = F.log_softmax(sim, dim=-1)
    idx = torch.arange(n, device=z.device)
    forward = logp[:, idx, n + idx]  # view 1 -> its view 2
    backward = logp[:, n + idx, idx]  # view 2 -> its view 1
    return -(forward.mean() + backward.mean()) / 2


def instance_contrastive_loss(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    """Instance-wise term: at each timestamp, a sample's two views against the batch.

    Args:
        z1, z2: (batch, time, features).

    Returns:
        Scalar loss; exactly zero when batch is 1 (there is no negative).
    """
    batch = z1.shape[0]
    if batch == 1:
        return z1.new_zeros((), dtype=torch.float32)
    z = torch.cat([z1, z2], dim=0).transpose(0, 1)  # (time, 2*batch, features)
    return _paired_nll(z, batch)


def temporal_contrastive_loss(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    """Temporal term: within a sample, a timestamp's two views against all other timestamps.

    Args:
        z1, z2: (batch, time, features).

    Returns:
        Scalar loss; zero when time is 1.
    """
    time = z1.shape[1]
    if time == 1:
        return z1.new_zeros((), dtype=torch.float32)
    z = torch.cat([z1, z2], dim=1)  # (batch, 2*time, features)
    return _paired_nll(z, time)


def hierarchical_contrastive_loss(z1: torch.Tensor, z2: torch.Tensor, alpha: float = 0.5,
                                  temporal_unit: int = 0) -> torch.Tensor:
    """Multi-granularity contrastive loss.

    At each level: ``alpha * instance + (1 - alpha) * temporal`` (the temporal term only from
    level ``temporal_unit`` on); then both views are max-pooled by 2 along time, while
    time > 1. At length 1 only the instance term is added. The result is the mean over levels.

    Args:
        z1, z2: (batch, time, features) aligned views.
        alpha: weight of the instance-wise term, in [0, 1].
        temporal_unit: first level at which the temporal term is used.

    Returns:
        Scalar tensor (float32).
    """
    if z1.shape != z2.shape or z1.ndim != 3:
        raise ValueError(f"views must share a (batch, time, features) shape: "
                         f"{tuple(z1.shape)} vs {tuple(z2.shape)}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    with torch.autocast(z1.device.type, enabled=False):
        return _hierarchical(z1.float(), z2.float(), alpha, temporal_unit)


def _hierarchical(z1: torch.Tensor, z2: torch.Tensor, alpha: float,
                  temporal_unit: int) -> torch.Tensor:
    """:func:`hierarchical_contrastive_loss` on checked float32 views."""
    total = z1.new_zeros((), dtype=torch.float32)
    levels = 0
    while z1.shape[1] > 1:
        if alpha > 0:
            total = total + alpha * instance_contrastive_loss(z1, z2)
        if levels >= temporal_unit and alpha < 1:
            total = total + (1 - alpha) * temporal_contrastive_loss(z1, z2)
        levels += 1
        z1 = F.max_pool1d(z1.transpose(1, 2), kernel_size=2).transpose(1, 2)
        z2 = F.max_pool1d(z2.transpose(1, 2), kernel_size=2).transpose(1, 2)
    if z1.shape[1] == 1:
        if alpha > 0:
            total = total + alpha * instance_contrastive_loss(z1, z2)
        levels += 1
    return total / levels
