"""Cutting trials into windows, pooling windows across sessions, fitting the normalisation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from models.preprocessing import Normalisation


def window_starts(n_samples: int, window: int, stride: int) -> np.ndarray:
    """Start indices of the full windows that fit in ``n_samples`` (no padding).

    Returns:
        (n_windows,) int64; empty when the trial is shorter than one window.
    """
    if window < 1 or stride < 1:
        raise ValueError(f"window and stride must be >= 1 sample, got {window}, {stride}")
    if n_samples < window:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, n_samples - window + 1, stride, dtype=np.int64)


def cut_windows(trial: np.ndarray, window: int, stride: int) -> np.ndarray:
    """Cut one trial into windows.

    Args:
        trial: (n_channels, n_samples).
        window, stride: in samples.

    Returns:
        (n_windows, n_channels, window) float32 copy.
    """
    starts = window_starts(trial.shape[1], window, stride)
    view = np.lib.stride_tricks.sliding_window_view(trial, window, axis=1)  # (C, S, W)
    return np.ascontiguousarray(view[:, starts].transpose(1, 0, 2), dtype=np.float32)


TRIAL_KEY_BASE = 1_000_000
"""Trial numbers of one part of a :class:`WindowPool` stay below this."""


@dataclass
class SessionWindows:
    """The windows of one session or recording (array may be a read-only memory map).

    Attributes:
        x: (n_windows, n_channels, window) float32, microvolts.
        y: (n_windows,) int64 class of each window.
        trial: (n_windows,) int64 1-based trial number of each window (time order).
        subject, session: identity of the session (SEED: numbers; recordings: names).
    """

    x: np.ndarray
    y: np.ndarray
    trial: np.ndarray
    subject: int | str
    session: int | str


class WindowPool:
    """Selected windows of several sessions, addressed by one global index.

    Nothing is copied at construction; :meth:`take` gathers a batch.
    """

    def __init__(self, parts: Sequence[tuple[SessionWindows, np.ndarray]]) -> None:
        """``parts``: (session windows, boolean or index selection of its windows).

        Attributes:
            y: (n,) class of each window.
            trial_key: (n,) int64 identifier of each window's trial, unique across the parts
                (``part * TRIAL_KEY_BASE + trial number``), for splits by trial.
        """
        self._parts = list(parts)
        self._arrays: list[np.ndarray] = []
        owners, locals_, labels, trials = [], [], [], []
        for k, (sw, sel) in enumerate(self._parts):
            idx = np.flatnonzero(sel) if np.asarray(sel).dtype == bool else np.asarray(sel)
            self._arrays.append(sw.x)
            owners.append(np.full(idx.size, k, dtype=np.int64))
            locals_.append(idx.astype(np.int64))
            labels.append(sw.y[idx])
            trials.append(k * TRIAL_KEY_BASE + np.asarray(sw.trial)[idx].astype(np.int64))
        self._owner = np.concatenate(owners) if owners else np.zeros(0, np.int64)
        self._local = np.concatenate(locals_) if locals_ else np.zeros(0, np.int64)
        self.y = np.concatenate(labels) if labels else np.zeros(0, np.int64)
        self.trial_key = np.concatenate(trials) if trials else np.zeros(0, np.int64)

    def subset(self, keep: np.ndarray) -> WindowPool:
        """The windows where ``keep`` (bool, (n,)) is True, as a new pool (nothing copied)."""
        keep = np.asarray(keep, dtype=bool)
        parts = []
        for k, (sw, _) in enumerate(self._parts):
            mine = keep & (self._owner == k)
            parts.append((sw, self._local[mine]))
        return WindowPool(parts)

    def split_trials(self, per_class: int) -> tuple[WindowPool, WindowPool]:
        """Hold out the last ``per_class`` trials of each class (by part, then trial number).

        A class keeps at least one training trial: with fewer than ``per_class + 1`` trials,
        it gives fewer (or none) to the held-out pool.

        Returns:
            (training pool, held-out pool); every window of a trial is on one side.
        """
        held = np.zeros(len(self), dtype=bool)
        for cls in np.unique(self.y):
            keys = np.unique(self.trial_key[self.y == cls])  # sorted: later trials last
            n = min(per_class, len(keys) - 1)
            if n > 0:
                held |= np.isin(self.trial_key, keys[-n:])
        return self.subset(~held), self.subset(held)

    def __len__(self) -> int:
        return int(self._owner.size)

    @property
    def shape(self) -> tuple[int, int]:
        """(n_channels, window) of every window."""
        return tuple(self._arrays[0].shape[1:])  # type: ignore[return-value]

    def take(self, index: np.ndarray) -> np.ndarray:
        """Gather windows by global index: (len(index), n_channels, window) float32."""
        index = np.asarray(index, dtype=np.int64)
        out = np.empty((index.size, *self.shape), dtype=np.float32)
        owners = self._owner[index]
        for k in np.unique(owners):
            rows = np.flatnonzero(owners == k)
            local = self._local[index[rows]]
            order = np.argsort(local)  # sorted reads are kinder to memory maps
            out[rows[order]] = self._arrays[k][local[order]]
        return out

    def batches(self, batch_size: int, rng: np.random.Generator | None = None):
        """Yield (indices, windows, labels) in order, or shuffled when ``rng`` is given."""
        order = rng.permutation(len(self)) if rng is not None else np.arange(len(self))
        for start in range(0, len(order), batch_size):
            idx = order[start: start + batch_size]
            yield idx, self.take(idx), self.y[idx]


def fit_normalisation(pool: WindowPool, demean: bool = True, chunk: int = 2048) -> Normalisation:
    """Fit the per-channel normalisation on every sample of ``pool``.

    See :class:`models.preprocessing.Normalisation` for what it does to a window. Read in
    chunks of ``chunk`` windows, so memory maps stay cheap.

    Returns:
        ``mean`` (zeros when ``demean``) and ``std`` (n_channels,) in microvolts; a channel
        without variance gets ``std`` 1.

    Raises:
        ValueError: ``pool`` is empty.
    """
    if len(pool) == 0:
        raise ValueError("cannot fit a normaliser on an empty training set")
    n_ch = pool.shape[0]
    total = np.zeros(n_ch)
    total_sq = np.zeros(n_ch)
    count = 0
    for start in range(0, len(pool), chunk):
        x = pool.take(np.arange(start, min(start + chunk, len(pool)))).astype(np.float64)
        if demean:
            x -= x.mean(axis=2, keepdims=True)
        total += x.sum(axis=(0, 2))
        total_sq += np.square(x).sum(axis=(0, 2))
        count += x.shape[0] * x.shape[2]
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))
    if demean:
        mean = np.zeros(n_ch)
    return Normalisation(mean=mean, std=np.where(std > 1e-6, std, 1.0), demean=demean)
