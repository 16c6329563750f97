"""The engine's history of model-rate samples: filtered and unfiltered values, LSL times, and
per-channel invalid-sample flags."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from bci_app.signal.quality import NO_SAMPLE

__all__ = ["RingWindow", "SampleRing"]


class RingWindow(NamedTuple):
    """Samples ``[end - length, end)`` of a :class:`SampleRing`.

    Attributes:
        data: (n_channels, length) float32 filtered microvolts.
        times: (length,) LSL times (s).
        flags: (n_channels, length) uint8 invalid-sample flags (0: valid; see
            :mod:`bci_app.signal.quality`; samples from before a :meth:`SampleRing.clear`
            carry ``NO_SAMPLE``).
        raw: (n_channels, length) float32 unfiltered microvolts.
    """

    data: np.ndarray
    times: np.ndarray
    flags: np.ndarray
    raw: np.ndarray


class SampleRing:
    """Fixed-capacity history of model-rate samples with their times and flags.

    Written by the acquisition thread, read by the engine thread: callers hold the engine's
    lock around both.

    Args:
        capacity: samples kept.
        n_channels: model channels.
    """

    def __init__(self, capacity: int, n_channels: int) -> None:
        self.capacity = capacity
        self.data = np.zeros((capacity, n_channels), dtype=np.float32)
        self.raw = np.zeros((capacity, n_channels), dtype=np.float32)
        self.times = np.zeros(capacity)
        self.flags = np.zeros((capacity, n_channels), dtype=np.uint8)
        self.total = 0  # samples ever written

    def clear(self) -> None:
        """Forget the history (the total count keeps growing)."""
        self.flags[:] = NO_SAMPLE  # nothing before now may be used in a window

    def append(self, samples: np.ndarray, times: np.ndarray, flags: np.ndarray,
               raw: np.ndarray | None = None) -> None:
        """Append (m, n_channels) filtered samples, (m,) times, (m, n_channels) or (m,) flags
        and, optionally, (m, n_channels) unfiltered samples (default: the filtered ones)."""
        m = samples.shape[0]
        if m == 0:
            return
        raw = samples if raw is None else raw
        flags = np.asarray(flags, dtype=np.uint8)
        if flags.ndim == 1:
            flags = np.repeat(flags[:, None], samples.shape[1], axis=1)
        if m > self.capacity:
            keep = slice(-self.capacity, None)
            samples, raw, times, flags = samples[keep], raw[keep], times[keep], flags[keep]
            self.total += m - self.capacity
            m = self.capacity
        idx = (self.total + np.arange(m)) % self.capacity
        self.data[idx] = samples
        self.raw[idx] = raw
        self.times[idx] = times
        self.flags[idx] = flags
        self.total += m

    def window(self, end: int, length: int) -> RingWindow:
        """Samples ``[end - length, end)`` in absolute sample numbers (copies).

        Raises:
            IndexError: the samples are not (or no longer) in the ring.
        """
        if end > self.total or end - length < max(0, self.total - self.capacity):
            raise IndexError(f"samples [{end - length}, {end}) are not in the ring "
                             f"(total {self.total}, capacity {self.capacity})")
        idx = np.arange(end - length, end) % self.capacity
        return RingWindow(self.data[idx].T.copy(), self.times[idx].copy(),
                          self.flags[idx].T.copy(), self.raw[idx].T.copy())
