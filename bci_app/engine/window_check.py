"""What every window goes through before the model sees it, live and offline: the per-channel
quality check and the interpolation of the few bad channels, or the reason not to predict.

One home for this step, so that ``sicleer-predict`` (:mod:`offline_training.predict`) scores a
recording exactly as the live engine scored it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bci_app.signal.channel_map import ChannelMappingError, ChannelRepair
from bci_app.signal.quality import ChannelProblem, QualityTracker
from bci_app.signal.ring import RingWindow

__all__ = ["CheckedWindow", "check_window"]


@dataclass(frozen=True)
class CheckedWindow:
    """A window after the quality check.

    Attributes:
        data: (n_model_channels, n_samples) float32 microvolts for the model (bad channels
            interpolated), or None when the window must not be predicted.
        bad: model row -> problem, the channels judged bad now (see :class:`QualityTracker`).
        changed: whether the set of bad channels (or their problems) changed with this window.
        refusal: why the window is not predicted (too many bad channels to interpolate), or "".
        invalid: the refusal involves invalid samples (NaN, Inf, beyond ±1 V).
    """

    data: np.ndarray | None
    bad: dict[int, ChannelProblem]
    changed: bool
    refusal: str = ""
    invalid: bool = False


def check_window(win: RingWindow, quality: QualityTracker,
                 repair: ChannelRepair) -> CheckedWindow:
    """Assess ``win`` (updating ``quality``'s hysteresis) and repair its bad channels.

    Args:
        win: the window (``data``/``raw``/``flags`` (n_model_channels, n), ``times`` (n,) s).
        quality: the stream's tracker, updated in window order.
        repair: interpolation of bad channels from the good ones.

    Returns:
        :class:`CheckedWindow`.
    """
    changed = quality.update(win.raw, win.data, win.flags, float(win.times[-1]))
    bad = dict(quality.current)
    if not bad:
        return CheckedWindow(win.data, bad, changed)
    try:
        data = repair.apply(win.data, frozenset(bad))
    except ChannelMappingError as exc:
        return CheckedWindow(None, bad, changed, f"{exc}: {quality.describe()}",
                             any(p.problem.invalid for p in bad.values()))
    return CheckedWindow(data, bad, changed)
