"""Per-chunk live signal path: units -> channel map -> resample -> causal filter.

The channel map is a fixed linear combination, so applying it before the (linear,
time-invariant) resampler and filters gives the same signal as after them, at a fraction of
the cost (the filters then run on the model's channels at the model's rate only).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bci_app.signal.channel_map import ChannelMap, build_channel_map
from bci_app.signal.filters import CausalFilter, make_live_filter
from bci_app.signal.quality import OVERFLOW, invalid_flags
from bci_app.signal.resample import StreamingResampler
from bci_app.signal.units import unit_factors
from models.preprocessing import FilterSpec

__all__ = ["LivePipeline", "Processed"]

_FLOAT32_SAFE = 1e30  # filter outputs beyond this (or NaN) would not survive the float32 ring


@dataclass(frozen=True)
class Processed:
    """One chunk after the signal path.

    Attributes:
        samples: (m, n_model_channels) float64 filtered microvolts at the model rate.
        raw: (m, n_model_channels) float64 the same before the filters (unit-scaled, mapped,
            resampled): what the saturation check looks at.
        times: (m,) LSL times of the samples (s).
        flags: (m, n_model_channels) uint8 invalid-sample flags of each output
            (:mod:`bci_app.signal.quality`: NaN/Inf input, input beyond ±1 V, filter
            overflow), 0 where the output can be trusted.
    """

    samples: np.ndarray
    raw: np.ndarray
    times: np.ndarray
    flags: np.ndarray

    @property
    def bad(self) -> np.ndarray:
        """(m,) bool: outputs with a flag on any channel."""
        return self.flags.any(axis=1)


def _bits(flags: np.ndarray) -> list[np.uint8]:
    """The flag bits set anywhere in ``flags``."""
    present = np.bitwise_or.reduce(flags, axis=None) if flags.size else 0
    return [np.uint8(b) for b in (1, 2, 4, 8) if present & b]


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
        # which stream columns each model channel is built from (one-hot or spline weights)
        self._depends = (self.channel_map.matrix != 0).astype(np.float64)  # (n_model, n_used)
        self._recent_times = np.zeros(0)  # times of recent invalid input rows (s)
        self._recent_flags = np.zeros((0, n_model), np.uint8)  # their model-channel flags
        self._last_good: np.ndarray | None = None
        self._segment_start: float | None = None

    @property
    def segment_start(self) -> float | None:
        """LSL time (s) of the first input sample since the pipeline was made or last reset:
        where the filters' state starts (None before any sample). A window is reproduced
        offline by starting the same chain at that sample (``sicleer-predict --align-to``)."""
        return self._segment_start

    @property
    def warmup_seconds(self) -> float:
        """Time for the filters' start-up transient to die out (s)."""
        return self.filter.warmup_seconds() + self.resampler.group_delay

    @property
    def warmup_samples(self) -> int:
        """:attr:`warmup_seconds` in model-rate samples, rounded up: the live engine's first
        window ends this many samples plus one window after the segment's first sample."""
        return math.ceil(self.warmup_seconds * self.sfreq_out)

    def reset(self) -> None:
        """Forget all state (after a gap in the stream)."""
        self.resampler.reset()
        self.filter.reset()
        self._recent_times = np.zeros(0)
        self._recent_flags = self._recent_flags[:0]
        self._last_good = None
        self._segment_start = None

    def process(self, chunk: np.ndarray, timestamps: np.ndarray) -> Processed:
        """Process one chunk.

        Args:
            chunk: (n, n_stream_channels) raw samples in the stream's units.
            timestamps: (n,) LSL times (s).

        Returns:
            The chunk at the model's rate (:class:`Processed`). Invalid input (NaN, Inf, or
            beyond ±1 V once in microvolts) is replaced by the last valid value of that channel,
            so the filters' state stays finite and sane; the flags tell which outputs, of which
            channels, not to trust. A filter output that is still not finite is zeroed,
            flagged, and the filters restart.
        """
        x = np.asarray(chunk, dtype=np.float64) * self.scale
        ts = np.asarray(timestamps, dtype=np.float64)
        if self._segment_start is None and ts.size:
            self._segment_start = float(ts[0])
        flags_in = invalid_flags(x)
        bad_rows = flags_in.any(axis=1)
        if bad_rows.any():
            x = self._hold_last_good(x, flags_in == 0)
        if x.shape[0]:
            self._last_good = x[-1].copy()
        raw, ts_out = self.resampler.process_timestamped(self.channel_map.apply(x), ts)
        y = self.filter.process(raw)
        flags = self._spread(ts, flags_in, bad_rows, ts_out)
        spoilt = ~(np.abs(y) <= _FLOAT32_SAFE)  # NaN too
        if spoilt.any():
            flags[spoilt] |= OVERFLOW
            y[spoilt] = 0.0
            self.filter.reset()  # its state holds the overflow: start it again
        return Processed(y, raw, ts_out, flags)

    def _model_flags(self, flags_in: np.ndarray) -> np.ndarray:
        """(k, n_stream) input flags -> (k, n_model): a model channel takes the flags of every
        stream channel it is built from."""
        used = flags_in[:, self.channel_map.stream_indices]
        out = np.zeros((used.shape[0], self._depends.shape[0]), np.uint8)
        for bit in _bits(used):
            hit = ((used & bit) != 0).astype(np.float64) @ self._depends.T > 0
            out[hit] |= bit
        return out

    def _spread(self, ts: np.ndarray, flags_in: np.ndarray, bad_rows: np.ndarray,
                ts_out: np.ndarray) -> np.ndarray:
        """Flags of the outputs: those of every invalid input within ``bad_span`` before."""
        if bad_rows.any():
            self._recent_times = np.concatenate([self._recent_times, ts[bad_rows]])
            self._recent_flags = np.concatenate([self._recent_flags,
                                                 self._model_flags(flags_in[bad_rows])])
        flags = np.zeros((ts_out.size, self._depends.shape[0]), np.uint8)
        times, recent = self._recent_times, self._recent_flags
        if times.size and ts_out.size:
            lo = np.searchsorted(times, ts_out - self._bad_span, side="left")
            hi = np.searchsorted(times, ts_out, side="right")
            for bit in _bits(recent):
                counts = np.concatenate([np.zeros((1, recent.shape[1]), np.int64),
                                         np.cumsum((recent & bit) != 0, axis=0)])
                flags[(counts[hi] - counts[lo]) > 0] |= bit
        if times.size and ts.size:  # forget what can no longer reach an output
            keep = times >= ts[-1] - self._bad_span - 2.0 / self.sfreq_in
            self._recent_times, self._recent_flags = times[keep], recent[keep]
        return flags

    def _hold_last_good(self, x: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """Replace invalid values by the channel's previous valid value (or 0)."""
        x = x.copy()
        prev = self._last_good if self._last_good is not None else np.zeros(x.shape[1])
        for i in np.flatnonzero(~valid.all(axis=1)):
            if i > 0:
                prev = x[i - 1]
            row_ok = valid[i]
            x[i, ~row_ok] = prev[~row_ok]
        return x
