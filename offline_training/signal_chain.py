"""The live signal path, offline: what every training and test recording goes through.

A :class:`SignalChain` resamples a recording to the model's rate and runs the live causal filter
chain over it, with the live app's own code (:mod:`bci_app.signal`): the streaming polyphase
resampler (:class:`~bci_app.signal.resample.StreamingResampler`, the one the live pipeline
runs) and the band-pass + notch of
:func:`~bci_app.signal.filters.make_live_filter`, in the live order (resample, then filter).
The whole recording is processed in time order, in chunks, with the state carried across
them, which gives exactly what one call (and what the live app, chunk by chunk) gives.

Both start from the recording's first sample as the live app starts from a stream's: the
resampler holds the first sample before it, the filter starts in the steady state of the first
sample. Windows may start only after the warm-up (:attr:`Processed.start`): the resampler's
group delay plus the filter's :meth:`~bci_app.signal.filters.CausalFilter.warmup_seconds`, the
same warm-up the live engine waits before its first prediction. Content at time ``t`` of the
input lies at ``t + delay`` on the output's time axis (the resampler's group delay; 0 when the
rates are equal).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bci_app.signal.filters import CausalFilter, make_live_filter
from bci_app.signal.resample import StreamingResampler
from models.preprocessing import FilterSpec

__all__ = ["Processed", "SignalChain"]

_CHUNK_SECONDS = 30.0  # processed at a time: bounds the float64 temporaries


@dataclass(frozen=True)
class Processed:
    """A recording after the chain.

    Attributes:
        data: (n_channels, n_samples) float32 microvolts at the chain's rate.
        start: first sample after the warm-up (windows start here or later).
        delay: seconds; input content at time ``t`` lies at ``t + delay`` in ``data``.
    """

    data: np.ndarray
    start: int
    delay: float


@dataclass(frozen=True)
class SignalChain:
    """Resampling to ``sfreq`` then the causal filters ``filters`` (None: not filtered).

    Args:
        sfreq: the model's rate (Hz).
        filters: the chain as asked for; it is applied as :meth:`FilterSpec.at_rate` gives it
            at ``sfreq`` (see :attr:`applied`).

    Raises:
        ValueError: the filters cannot be built at ``sfreq`` (edges beyond Nyquist or in the
            wrong order), naming the rate.
    """

    sfreq: float
    filters: FilterSpec | None
    _design: CausalFilter | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.sfreq) and self.sfreq > 0):
            raise ValueError(f"the model's rate must be a positive number of Hz, got "
                             f"{self.sfreq!r}")
        design = None
        if self.filters is not None:  # designed once (make_live_filter logs any adaptation)
            f = self.filters
            try:
                design = make_live_filter(self.sfreq, f.l_freq, f.h_freq, f.notch, n_channels=1,
                                          order=f.order, notch_q=f.notch_q)
            except ValueError as exc:
                raise ValueError(f"cannot build the filter chain at the model's "
                                 f"{self.sfreq:g} Hz: {exc}") from None
        object.__setattr__(self, "_design", design)

    @property
    def applied(self) -> FilterSpec | None:
        """The filters as applied at :attr:`sfreq` (what the model file records), or None."""
        return self.filters.at_rate(self.sfreq) if self.filters is not None else None

    def _filter(self, n_channels: int) -> CausalFilter | None:
        """A fresh filter (steady-state start) for ``n_channels`` channels, or None."""
        if self._design is None:
            return None
        return CausalFilter(self._design.sos, self.sfreq, n_channels)

    def warmup_seconds(self, sfreq_in: float | None = None) -> float:
        """Seconds of output before windows may start: the filter's warm-up plus, when
        resampling from ``sfreq_in``, the resampler's group delay."""
        filt = self._design
        delay = 0.0
        if sfreq_in is not None:
            delay = StreamingResampler(sfreq_in, self.sfreq, 1).group_delay
        return (filt.warmup_seconds() if filt is not None else 0.0) + delay

    def to_dict(self) -> dict[str, Any]:
        """``{"sfreq": Hz, "filters": applied spec or None}`` (JSON-ready)."""
        f = self.applied
        return {"sfreq": self.sfreq, "filters": f.to_dict() if f is not None else None}

    def key(self) -> str:
        """A short digest of :meth:`to_dict`, for cache folder names."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:10]

    def apply(self, data: np.ndarray, sfreq_in: float) -> Processed:
        """Resample ``data`` to :attr:`sfreq` and filter it, from its first sample on.

        Args:
            data: (n_channels, n_samples) microvolts at ``sfreq_in`` Hz, in time order.
            sfreq_in: its rate (Hz).

        Returns:
            :class:`Processed`: (n_channels, m) float32 microvolts at :attr:`sfreq`, the
            first sample after the warm-up, the resampler's delay.

        Raises:
            ValueError: the rate ratio cannot be met exactly by the resampler (the effective
                rate would differ from :attr:`sfreq`).
        """
        x = np.asarray(data)
        n_channels = x.shape[0]
        resampler = StreamingResampler(sfreq_in, self.sfreq, n_channels)
        if abs(resampler.sfreq_out - self.sfreq) > 1e-9 * self.sfreq:
            raise ValueError(f"cannot resample {sfreq_in:g} Hz to exactly {self.sfreq:g} Hz "
                             f"(the nearest ratio gives {resampler.sfreq_out:.6g} Hz); choose "
                             "another --sfreq")
        filt = self._filter(n_channels)
        step = max(1, round(_CHUNK_SECONDS * sfreq_in))
        parts = []
        for begin in range(0, x.shape[1], step):
            chunk = resampler.process(x[:, begin: begin + step].T)
            if filt is not None:
                chunk = filt.process(chunk)
            parts.append(chunk.astype(np.float32).T)
        out = (np.concatenate(parts, axis=1) if parts
               else np.zeros((n_channels, 0), np.float32))
        warm = filt.warmup_seconds() if filt is not None else 0.0
        start = math.ceil((warm + resampler.group_delay) * self.sfreq - 1e-9)
        return Processed(np.ascontiguousarray(out), start, resampler.group_delay)
