"""Per-chunk live signal path: units -> channel map -> resample -> causal filter.

The channel map is a fixed linear combination, so applying it before the (linear,
time-invariant) resampler and filters gives the same signal as after them, at a fraction of
the cost (the filters then run on the model's channels at the model's rate only).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bci_app.signal.channel_map import ChannelMap, build_channel_map
from bci_app.signal.filters import CausalFilter, make_live_filter
from bci_app.signal.resample import StreamingResampler
from bci_app.signal.units import unit_factors
from models.preprocessing import FilterSpec

__all__ = ["LivePipeline"]


class LivePipeline:
    """Turns raw stream chunks into filtered model-ready samples.

    Args:
        stream_labels: channel labels of the stream (its order).
        stream_units: unit of each stream channel (None: microvolts assumed).
        sfreq_in: the stream's nominal rate (Hz).
        model_channels: the model's channel names (output order).
        sfreq_out: the model's rate (Hz).
        filters: the causal band-pass and notch, applied at ``sfreq_out`` (default: the
            project's one set of defaults, :class:`models.preprocessing.FilterSpec`).
    """

    def __init__(self, stream_labels: Sequence[str], stream_units: Sequence[str | None] | None,
                 sfreq_in: float, model_channels: Sequence[str], sfreq_out: float,
                 filters: FilterSpec | None = None) -> None:
        f = filters if filters is not None else FilterSpec()
        self.channel_map: ChannelMap = build_channel_map(list(stream_labels),
                                                         list(model_channels))
        self.scale, self.unit_note = unit_factors(stream_units, len(stream_labels))
        n_model = len(model_channels)
        self.resampler = StreamingResampler(sfreq_in, sfreq_out, n_model)
        self.filter: CausalFilter = make_live_filter(sfreq_out, f.l_freq, f.h_freq, f.notch,
                                                     n_channels=n_model, order=f.order,
                                                     notch_q=f.notch_q)
        self.sfreq_in, self.sfreq_out = sfreq_in, sfreq_out
        # a bad input sample spoils outputs for the resampler's whole impulse response
        self._bad_span = 2 * self.resampler.group_delay + 1.0 / sfreq_in
        self._last_bad = -np.inf  # LSL time of the newest non-finite input sample
        self._last_good: np.ndarray | None = None

    @property
    def warmup_seconds(self) -> float:
        """Time for the filters' start-up transient to die out (s)."""
        return self.filter.warmup_seconds() + self.resampler.group_delay

    def reset(self) -> None:
        """Forget all state (after a gap in the stream)."""
        self.resampler.reset()
        self.filter.reset()
        self._last_bad = -np.inf
        self._last_good = None

    def process(self, chunk: np.ndarray,
                timestamps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Process one chunk.

        Args:
            chunk: (n, n_stream_channels) raw samples in the stream's units.
            timestamps: (n,) LSL times (s).

        Returns:
            samples (m, n_model_channels) float64 microvolts at the model rate, their LSL
            times (m,), and a (m,) bool mask of samples that NaN/Inf input has spoilt.
            Non-finite input is replaced by the last finite value of that channel, so the
            filters' state stays finite; the mask tells which outputs not to trust.
        """
        x = np.asarray(chunk, dtype=np.float64) * self.scale
        ts = np.asarray(timestamps, dtype=np.float64)
        finite = np.isfinite(x)
        bad_rows = ~finite.all(axis=1)
        if bad_rows.any():
            x = self._hold_last_good(x, finite)
        if x.shape[0]:
            self._last_good = x[-1].copy()
        y = self.channel_map.apply(x)
        y, ts_out = self.resampler.process_timestamped(y, ts)
        y = self.filter.process(y)
        # an output is spoilt when a bad input sample lies within bad_span before it
        bad_times = np.concatenate([[self._last_bad], ts[bad_rows]])
        latest = bad_times[np.maximum(np.searchsorted(bad_times, ts_out, side="right") - 1, 0)]
        bad = (ts_out >= latest) & (ts_out - latest <= self._bad_span)
        self._last_bad = bad_times[-1]
        return y, ts_out, bad

    def _hold_last_good(self, x: np.ndarray, finite: np.ndarray) -> np.ndarray:
        """Replace non-finite values by the channel's previous finite value (or 0)."""
        x = x.copy()
        prev = self._last_good if self._last_good is not None else np.zeros(x.shape[1])
        prev = np.where(np.isfinite(prev), prev, 0.0)
        for i in range(x.shape[0]):
            row_ok = finite[i]
            if not row_ok.all():
                x[i, ~row_ok] = prev[~row_ok]
            prev = x[i]
        return x
