"""Per-chunk live signal path: units -> channel map -> resample -> causal filter.

The channel map is a fixed linear combination, so applying it before the (linear,
time-invariant) resampler and filters gives the same signal as after them, at a fraction of
the cost (the filters then run on the model's channels at the model's rate only).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import numpy as np

from bci_app.channels import ChannelMap, build_channel_map
from bci_app.dsp import CausalFilter, StreamingResampler, make_live_filter

log = logging.getLogger("bci_app.pipeline")

_UNIT_FACTORS = {  # multiply by this to get microvolts
    "microvolts": 1.0, "microvolt": 1.0, "uv": 1.0, "µv": 1.0, "μv": 1.0,
    "volts": 1e6, "volt": 1e6, "v": 1e6,
    "millivolts": 1e3, "millivolt": 1e3, "mv": 1e3,
    "nanovolts": 1e-3, "nanovolt": 1e-3, "nv": 1e-3,
}


def unit_factor(unit: str | None) -> float | None:
    """Factor turning values in ``unit`` into microvolts; None when the unit is unknown.

    Accepts names ("microvolts", "uV", "V", "mV", ...) and MNE's power-of-ten codes as
    strings ("-6" = microvolts, "0" = volts).
    """
    if unit is None:
        return None
    text = unit.strip().lower()
    if text in _UNIT_FACTORS:
        return _UNIT_FACTORS[text]
    if re.fullmatch(r"[+-]?\d+", text):
        return 10.0 ** (int(text) + 6)
    return None


def unit_factors(units: Sequence[str | None] | None, n_channels: int) -> tuple[np.ndarray, str]:
    """Per-channel factors to microvolts and a note for the log.

    Channels whose unit is missing or unknown are taken as microvolts (the LSL convention for
    EEG), and the note says so.
    """
    if not units:
        return np.ones(n_channels), "no unit metadata: samples taken as microvolts"
    factors = np.ones(n_channels)
    unknown = []
    for i, u in enumerate(units):
        f = unit_factor(u)
        if f is None:
            unknown.append(u)
        else:
            factors[i] = f
    kinds = sorted({str(u) for u in units})
    note = f"units {', '.join(kinds)}"
    if unknown:
        note += f" (unknown {sorted({str(u) for u in unknown})} taken as microvolts)"
    return factors, note


class LivePipeline:
    """Turns raw stream chunks into filtered model-ready samples.

    Args:
        stream_labels: channel labels of the stream (its order).
        stream_units: unit of each stream channel (None: microvolts assumed).
        sfreq_in: the stream's nominal rate (Hz).
        model_channels: the model's channel names (output order).
        sfreq_out: the model's rate (Hz).
        l_freq, h_freq, notch: causal filters, Hz (see :func:`make_live_filter`).
    """

    def __init__(self, stream_labels: Sequence[str], stream_units: Sequence[str | None] | None,
                 sfreq_in: float, model_channels: Sequence[str], sfreq_out: float,
                 l_freq: float | None, h_freq: float | None, notch: float | None) -> None:
        self.channel_map: ChannelMap = build_channel_map(list(stream_labels),
                                                         list(model_channels))
        self.scale, self.unit_note = unit_factors(stream_units, len(stream_labels))
        n_model = len(model_channels)
        self.resampler = StreamingResampler(sfreq_in, sfreq_out, n_model)
        self.filter: CausalFilter = make_live_filter(sfreq_out, l_freq, h_freq, notch,
                                                     n_channels=n_model)
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


class SampleRing:
    """Fixed-capacity history of model-rate samples with their times and bad flags.

    Written by the acquisition thread, read by the engine thread: callers hold the engine's
    lock around both.
    """

    def __init__(self, capacity: int, n_channels: int) -> None:
        self.capacity = capacity
        self.data = np.zeros((capacity, n_channels), dtype=np.float32)
        self.times = np.zeros(capacity)
        self.bad = np.zeros(capacity, dtype=bool)
        self.total = 0  # samples ever written

    def clear(self) -> None:
        """Forget the history (the total count keeps growing)."""
        self.bad[:] = True  # nothing before now may be used in a window

    def append(self, samples: np.ndarray, times: np.ndarray, bad: np.ndarray) -> None:
        """Append (m, n_channels) samples, (m,) times and (m,) flags."""
        m = samples.shape[0]
        if m == 0:
            return
        if m > self.capacity:
            samples, times, bad = samples[-self.capacity:], times[-self.capacity:], \
                bad[-self.capacity:]
            self.total += m - self.capacity
            m = self.capacity
        idx = (self.total + np.arange(m)) % self.capacity
        self.data[idx] = samples
        self.times[idx] = times
        self.bad[idx] = bad
        self.total += m

    def window(self, end: int, length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Samples ``[end - length, end)`` in absolute sample numbers.

        Returns:
            data (n_channels, length) float32, times (length,), bad (length,).
        """
        if end > self.total or end - length < max(0, self.total - self.capacity):
            raise IndexError(f"samples [{end - length}, {end}) are not in the ring "
                             f"(total {self.total}, capacity {self.capacity})")
        idx = np.arange(end - length, end) % self.capacity
        return self.data[idx].T.copy(), self.times[idx].copy(), self.bad[idx].copy()
