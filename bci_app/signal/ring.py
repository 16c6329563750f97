"""The engine's history of model-rate samples, with their LSL times and bad-sample flags."""

from __future__ import annotations

import numpy as np

__all__ = ["SampleRing"]


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
