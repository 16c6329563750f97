"""The preprocessing a model expects, shared by the trainer and the live engine.

- :class:`Normalisation`: what turns a window in microvolts into network input. The trainer
  fits it and applies it to every batch; the live engine applies the one stored in the model
  file, through the same :meth:`Normalisation.apply`, so a window gives bit-identical network
  input offline and live.
- :class:`FilterSpec`: the causal band-pass and notch of the live signal path, with the one
  set of defaults that the engine, its command line and ``make_live_filter`` use.

numpy only: importing this module does not load torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["FilterSpec", "Normalisation"]


@dataclass(frozen=True)
class Normalisation:
    """Per-channel scaling of windows.

    With ``demean`` (the default) every window first loses its own per-channel mean, which
    makes the model blind to DC offsets and slow drifts (amplifiers differ there, and a live
    causal high-pass never removes them exactly as offline data did); then each channel is
    divided by ``std``. Without it, ``mean`` is subtracted instead.

    Attributes:
        mean: (n_channels,) microvolts (zeros when ``demean``).
        std: (n_channels,) microvolts, positive.
        demean: subtract each window's own per-channel mean.
    """

    mean: np.ndarray
    std: np.ndarray
    demean: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", np.asarray(self.mean, dtype=np.float64))
        object.__setattr__(self, "std", np.asarray(self.std, dtype=np.float64))
        if self.mean.shape != self.std.shape or self.mean.ndim != 1:
            raise ValueError(f"normalisation mean {self.mean.shape} and std {self.std.shape} "
                             "must be vectors of the same length")

    @classmethod
    def from_lists(cls, mean: Sequence[float], std: Sequence[float],
                   demean: bool = True) -> Normalisation:
        """Build from the lists stored in a model file."""
        return cls(np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64), demean)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """(batch, n_channels, T) microvolts -> normalised float32 (same shape).

        The arithmetic runs in float64 whatever the input dtype, then rounds once to float32.
        """
        centre = x.mean(axis=-1, keepdims=True) if self.demean else self.mean[:, None]
        return ((x - centre) / self.std[:, None]).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the model file's ``preprocessing.normalisation``)."""
        return {"demean": self.demean, "mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Normalisation:
        """Inverse of :meth:`to_dict`."""
        return cls.from_lists(data["mean"], data["std"], bool(data.get("demean", True)))


@dataclass(frozen=True)
class FilterSpec:
    """Causal filters of the live signal path, applied at the model's rate.

    Attributes:
        l_freq, h_freq: Butterworth band-pass edges in Hz (-3 dB); None leaves that side open.
        notch: mains frequency removed by an IIR notch (50 or 60 Hz), or None.
        order: Butterworth order per edge.
        notch_q: quality factor of the notch.
    """

    l_freq: float | None = 0.5
    h_freq: float | None = 75.0
    notch: float | None = 50.0
    order: int = 4
    notch_q: float = 30.0

    def at_rate(self, sfreq: float) -> FilterSpec:
        """The chain as the live filter builds it at ``sfreq`` Hz (what is really applied).

        The rules of ``bci_app.signal.filters.make_live_filter``: a high edge at or above
        0.9 x Nyquist is lowered to 0.9 x Nyquist, and a notch at or above 0.99 x Nyquist is
        left out (nothing of that frequency can be told apart). Building the filter from the
        returned spec gives the same sections as building it from this one.
        """
        nyq = float(sfreq) / 2.0
        h_freq = self.h_freq
        if h_freq is not None and h_freq >= 0.9 * nyq:
            h_freq = 0.9 * nyq
        notch = self.notch if self.notch is None or self.notch < 0.99 * nyq else None
        return FilterSpec(self.l_freq, h_freq, notch, self.order, self.notch_q)

    def describe(self) -> str:
        """The chain in words, e.g. ``"0.5-75 Hz band-pass (order 4), 50 Hz notch"``."""
        lo, hi = self.l_freq, self.h_freq
        if lo is not None and hi is not None:
            band = f"{lo:g}-{hi:g} Hz band-pass (order {self.order})"
        elif lo is not None:
            band = f"{lo:g} Hz high-pass (order {self.order})"
        elif hi is not None:
            band = f"{hi:g} Hz low-pass (order {self.order})"
        else:
            band = "no band-pass"
        notch = f"{self.notch:g} Hz notch" if self.notch is not None else "no notch"
        return f"{band}, {notch}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the model file's ``preprocessing.filters``)."""
        return {"l_freq": self.l_freq, "h_freq": self.h_freq, "notch": self.notch,
                "order": self.order, "notch_q": self.notch_q, "causal": True}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FilterSpec:
        """Inverse of :meth:`to_dict`."""
        return cls(data.get("l_freq"), data.get("h_freq"), data.get("notch"),
                   int(data.get("order", 4)), float(data.get("notch_q", 30.0)))
