"""TS2Vec-style random overlapping crops: the two contrastive views of a window."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class CropPlan:
    """Where the two views of each window start and how long they are (samples).

    View 1 covers ``[offset + left1, offset + overlap_end)`` and view 2 covers
    ``[offset + overlap_start, offset + right2)``; both contain the overlap
    ``[offset + overlap_start, offset + overlap_end)``: it is the *last* ``overlap`` samples of
    view 1 and the *first* ``overlap`` samples of view 2.
    """

    left1: int
    overlap_start: int
    overlap_end: int
    right2: int
    offsets: np.ndarray  # (batch,) int, per-window shift

    @property
    def overlap(self) -> int:
        """Number of shared timestamps."""
        return self.overlap_end - self.overlap_start


def crop_views(length: int, rng: np.random.Generator,
               min_overlap: int = 2) -> tuple[int, int, int, int]:
    """Draw where the two views of a batch start and end (samples of a ``length`` window).

    Returns:
        (left1, overlap_start, overlap_end, right2), see :class:`CropPlan`.
    """
    if length < min_overlap:
        raise ValueError(f"window of {length} samples is shorter than min_overlap={min_overlap}")
    overlap = int(rng.integers(min_overlap, length + 1))
    start = int(rng.integers(0, length - overlap + 1))
    end = start + overlap
    left1 = int(rng.integers(0, start + 1))
    right2 = int(rng.integers(end, length + 1))
    return left1, start, end, right2


def plan_crops(batch: int, length: int, rng: np.random.Generator,
               min_overlap: int = 2, geometry: np.random.Generator | None = None,
               views: tuple[int, int, int, int] | None = None) -> CropPlan:
    """Draw one crop plan for a batch of windows of ``length`` samples.

    The views' geometry comes from ``views`` when given (folds trained side by side share
    one), else it is drawn (:func:`crop_views`) from ``geometry`` (default: ``rng``); the
    per-window offsets always come from ``rng``. Training draws the geometry from a stream of
    the run's seed, the same in every fold, so that folds trained side by side have views of
    one shape at each step (:mod:`offline_training.stacked`).
    """
    if views is None:
        views = crop_views(length, rng if geometry is None else geometry, min_overlap)
    left1, start, end, right2 = views
    offsets = rng.integers(-left1, length - right2 + 1, size=batch)
    return CropPlan(left1, start, end, right2, offsets)


def take_crops(x: torch.Tensor, plan: CropPlan) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut both views out of ``x``.

    Args:
        x: (batch, time, channels).
        plan: from :func:`plan_crops` with the same batch and time.

    Returns:
        view1 of shape (batch, overlap_end - left1, channels) and view2 of shape
        (batch, right2 - overlap_start, channels).
    """
    offsets = torch.as_tensor(plan.offsets, device=x.device).unsqueeze(1)

    def gather(start: int, stop: int) -> torch.Tensor:
        idx = offsets + torch.arange(start, stop, device=x.device).unsqueeze(0)
        return torch.take_along_dim(x, idx.unsqueeze(-1), dim=1)

    return gather(plan.left1, plan.overlap_end), gather(plan.overlap_start, plan.right2)


def overlap_parts(z1: torch.Tensor, z2: torch.Tensor,
                  plan: CropPlan) -> tuple[torch.Tensor, torch.Tensor]:
    """Representations of the shared timestamps: (batch, overlap, features) each."""
    n = plan.overlap
    return z1[:, z1.shape[1] - n:], z2[:, :n]
