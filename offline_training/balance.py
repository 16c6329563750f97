"""Balancing the two terms of the joint loss by their gradients on the shared encoder.

SI-CLEER's joint loss is ``L = L_HCL + lambda * L_CE``. The two terms have different scales:
the hierarchical contrastive loss (dot-product similarities, as in TS2Vec) starts far above
its chance level, and its gradient on the encoder was measured at several to a hundred times
the cross-entropy's (docs/RESULTS.md), so Adam follows the contrastive term and
classification learns slowly. The paper leaves the weighting open.

The ``gradnorm`` rule weighs the contrastive term by the ratio of the two gradient norms on
the encoder's parameters::

    w = ||dL_CE / d theta_enc|| / ||dL_HCL / d theta_enc||,    L = w * L_HCL + lambda * L_CE

so that, at ``lambda = 1``, both terms pull the encoder equally hard; ``lambda`` keeps its
meaning on top of it. The norms are measured every ``every`` optimizer steps on the current
batch (one backward pass per term, which together give the step its gradient: one extra
backward pass per probe); between probes ``w`` stays fixed, and successive ratios are
averaged geometrically (``w <- sqrt(w * ratio)``) so that one noisy batch does not swing it.
``w`` is a constant during back-propagation: it is not learned. ``none`` keeps ``w = 1``
(the paper's exact loss, with ``--lambda 1``); the probes still run, to record the gradient
shares.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import torch

__all__ = ["GradientBalance"]

_W_MIN, _W_MAX = 1e-4, 1e4  # bounds on the contrastive weight (a safety net, rarely reached)


def _norm(grads: Iterable[torch.Tensor | None]) -> float:
    """Euclidean norm of a list of gradients (None entries count as zeros)."""
    total = sum(float(g.detach().float().pow(2).sum()) for g in grads if g is not None)
    return math.sqrt(total)


class GradientBalance:
    """The contrastive term's weight in the joint loss, and the gradient shares it implies.

    Args:
        params: the encoder's parameters (shared by both terms).
        rule: ``"gradnorm"`` or ``"none"``.
        every: optimizer steps between two probes (>= 1).
        lambda_ce: weight of the cross-entropy term.

    Attributes:
        weight: current weight ``w`` of the contrastive term.
        last_share: share of the contrastive term in the encoder's gradient norm at the last
            probe, ``w |g_HCL| / (w |g_HCL| + lambda |g_CE|)`` (NaN before the first probe).
        last_ratio: ``|g_HCL| / |g_CE|`` at the last probe (unweighted).
    """

    def __init__(self, params: Iterable[torch.nn.Parameter], rule: str, every: int,
                 lambda_ce: float) -> None:
        if rule not in ("gradnorm", "none"):
            raise ValueError(f"unknown balance rule {rule!r}; expected 'gradnorm' or 'none'")
        if every < 1:
            raise ValueError(f"balance probes need every >= 1 step, got {every}")
        self.params = [p for p in params if p.requires_grad]
        self.rule, self.every, self.lambda_ce = rule, every, float(lambda_ce)
        self.weight = 1.0
        self.last_share = float("nan")
        self.last_ratio = float("nan")
        self._probed = False

    def due(self, step: int) -> bool:
        """Whether optimizer step ``step`` (0-based) probes the gradients."""
        return step % self.every == 0

    def probe(self, hcl: torch.Tensor, ce: torch.Tensor) -> float:
        """Measure both terms' gradient norms on the encoder; update ``weight`` (gradnorm).

        Both graphs are kept (``retain_graph``) for a backward pass after it.

        Returns:
            The contrastive term's share of the weighted gradient norm, after the update.
        """
        g_h = torch.autograd.grad(hcl, self.params, retain_graph=True, allow_unused=True)
        g_c = torch.autograd.grad(ce, self.params, retain_graph=True, allow_unused=True)
        return self._update(_norm(g_h), _norm(g_c))

    def probe_step(self, hcl: torch.Tensor, ce: torch.Tensor,
                   params: list[torch.nn.Parameter]) -> None:
        """A probe that is also the step's backward pass: ``params.grad`` (all trainable
        parameters, the encoder's among them) is set to the gradient of
        ``weight * hcl + lambda * ce`` with the updated weight, from the two per-term
        gradients the probe computes anyway (no third backward pass)."""
        g_h = torch.autograd.grad(hcl, params, retain_graph=True, allow_unused=True)
        g_c = torch.autograd.grad(ce, params, allow_unused=True)
        self.set_gradients(g_h, g_c, params)

    def set_gradients(self, g_h: Sequence[torch.Tensor | None],
                      g_c: Sequence[torch.Tensor | None],
                      params: list[torch.nn.Parameter]) -> None:
        """The second half of :meth:`probe_step`, from the two terms' gradients on
        ``params`` (in its order; None where a term does not reach a parameter): update
        ``weight`` from their norms on the encoder and set ``params.grad`` to the weighted
        sum. Folds trained side by side compute the gradients of all folds at once and call
        this once per fold."""
        enc = {id(p) for p in self.params}
        self._update(_norm(g for p, g in zip(params, g_h, strict=True) if id(p) in enc),
                     _norm(g for p, g in zip(params, g_c, strict=True) if id(p) in enc))
        for p, gh, gc in zip(params, g_h, g_c, strict=True):
            parts = [t for t in (None if gh is None else self.weight * gh,
                                 None if gc is None else self.lambda_ce * gc) if t is not None]
            p.grad = sum(parts[1:], parts[0]) if parts else None

    def _update(self, n_h: float, n_c: float) -> float:
        """Update ``weight`` and ``last_*`` from the two encoder gradient norms."""
        if n_h > 0 and n_c > 0 and math.isfinite(n_h) and math.isfinite(n_c):
            self.last_ratio = n_h / n_c
            if self.rule == "gradnorm":
                target = n_c / n_h
                w = target if not self._probed else math.sqrt(self.weight * target)
                self.weight = min(max(w, _W_MIN), _W_MAX)
                self._probed = True
        weighted_h, weighted_c = self.weight * n_h, self.lambda_ce * n_c
        total = weighted_h + weighted_c
        self.last_share = weighted_h / total if total > 0 else float("nan")
        return self.last_share
