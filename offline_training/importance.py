"""Which channels matter: the occlusion drops that are beyond noise, ranked once for the
report's table and the figure's names alike.

The rule: with an accuracy ``p`` on the ``N`` windows that were occluded, a channel's drop is
noise unless it exceeds ``2 * sqrt(max(p (1 - p), 1 / N) / N)`` (two binomial standard errors,
:func:`importance_noise`); when every channel's drop is the same (all 0.00 pp, say) none is
ranked either, whatever the noise level. Only the channels beyond noise are ranked.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["importance_noise", "ranked_channels"]


def importance_noise(accuracy: float, n_windows: int) -> float:
    """The smallest occlusion drop (a fraction) that counts as more than noise.

    Two standard errors of an accuracy measured on ``n_windows`` windows,
    ``2 * sqrt(max(p (1 - p), 1 / n) / n)``: a channel whose zeroing changes the accuracy by
    less could have done so by the luck of which windows were drawn. The floor ``1 / n`` keeps
    a perfect (or zero) accuracy from making every single flipped window significant. This is
    conservative for a paired difference (the same windows with and without the channel), on
    purpose: the report must not rank channels on noise.

    Args:
        accuracy: test accuracy on the occluded windows without occlusion (0..1).
        n_windows: how many windows were occluded (over all folds).
    """
    n = max(int(n_windows), 1)
    p = min(max(float(accuracy), 0.0), 1.0)
    return 2.0 * float(np.sqrt(max(p * (1.0 - p), 1.0 / n) / n))


def ranked_channels(
        importance: dict[str, Any]) -> tuple[list[tuple[str, float]], float, int | None]:
    """The channels whose occlusion drop exceeds the noise level, largest first: the one
    ranking that the report's table and the figure's names both show.

    Args:
        importance: the report's ``channel_importance``: ``channels``, ``accuracy_drop``
            (fractions, None for NaN) and, from this version on, ``n_windows`` and
            ``accuracy`` (see :func:`importance_noise`). Without them (older reports) the noise
            level is 0 and only positive drops are ranked.

    Returns:
        ``([(channel, drop), ...], noise, n_windows)``; the list is empty when no channel's
        drop is beyond noise, or when all the drops are equal (nothing tells them apart).
    """
    n = importance.get("n_windows")
    acc = importance.get("accuracy")
    noise = importance_noise(acc, n) if n and acc is not None else 0.0
    drops = [(str(c), float(d)) for c, d in zip(importance.get("channels") or [],
                                               importance.get("accuracy_drop") or [],
                                               strict=True)
             if d is not None and np.isfinite(d)]
    if len({d for _, d in drops}) < 2:  # all equal: no channel stands out
        return [], noise, n
    beyond = [(c, d) for c, d in drops if d > noise and d > 0]
    return sorted(beyond, key=lambda p: -p[1]), noise, n
