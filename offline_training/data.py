"""Loading SEED sessions as windows: in memory one session at a time, or memory-mapped.

The whole of SEED is about 15 GB as float64, so nothing here holds it all: the
subject-dependent protocol needs one session at a time (kept in memory), the protocols that
pool subjects or sessions cache each session's windows once as ``.npy`` files under the
output folder and read them back memory-mapped.

Each trial goes through the run's :class:`~offline_training.signal_chain.SignalChain` (the
live causal filters) on its own, from its first sample; its windows start after the chain's
warm-up. :class:`SessionStore` is what every store (SEED here, recordings in
:mod:`offline_training.recording_data`) gives the folds: a session's windows and pools of them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from offline_training.progress import bar as progress_bar
from offline_training.seed import (
    MAT_HEADER_BYTES,
    SEED_SFREQ,
    SessionFile,
    check_session,
    read_trials,
)
from offline_training.signal_chain import SignalChain
from offline_training.windows import SessionWindows, WindowPool, cut_windows


def is_synthetic(path: Path) -> bool:
    """Whether a session file was written by ``sicleer-synth`` (its MAT header says so)."""
    with open(path, "rb") as f:
        return b"SYNTHETIC" in f.read(MAT_HEADER_BYTES).upper()


def check_sessions(sessions: list[SessionFile], window_seconds: float,
                   warmup_seconds: float = 0.0) -> None:
    """Refuse, before any training starts, sessions that cannot give windows: each must hold
    exactly the trials 1..15, each at least one window long, and then at least the filters'
    warm-up plus one window long (headers only; no data read).

    Args:
        sessions: the selected session files.
        window_seconds: the training window (s; samples at SEED's rate, as the trainer cuts).
        warmup_seconds: the signal chain's warm-up (s), cut from the start of every trial.

    Raises:
        SeedFormatError: naming the file, the key and the trial at fault.
    """
    window = round(window_seconds * SEED_SFREQ)
    for sf in sessions:
        check_session(sf.path, min_samples=window)
    if warmup_seconds > 0:
        needed = window + math.ceil(warmup_seconds * SEED_SFREQ)
        what = (f"the filters' {warmup_seconds:g}-s warm-up plus one window (--no-filter "
                "trains on the unfiltered trials)")
        for sf in sessions:
            check_session(sf.path, min_samples=needed, what=what)


def session_windows(sf: SessionFile, labels: np.ndarray, window: int,
                    stride: int, chain: SignalChain | None = None) -> SessionWindows:
    """Read one session and cut every trial into windows (in memory).

    Args:
        sf: the session file.
        labels: (15,) class of each trial (0..2).
        window, stride: in samples at the chain's rate (SEED's 200 Hz without a chain).
        chain: resampling and causal filters applied to each trial on its own, from its first
            sample (steady-state start); windows start after its warm-up. None: the trials
            as stored.

    Raises:
        SeedFormatError: the session does not hold exactly trials 1..15, or a trial is shorter
            than one window (the message names the file, the key and the trial).
    """
    xs, ys, ts = [], [], []
    trials = read_trials(sf.path, complete=True, min_samples=window)
    for number, trial in enumerate(trials, start=1):
        if chain is not None:
            done = chain.apply(trial, SEED_SFREQ)
            trial = done.data[:, done.start:]
        w = cut_windows(trial, window, stride)
        xs.append(w)
        ys.append(np.full(len(w), labels[number - 1], dtype=np.int64))
        ts.append(np.full(len(w), number, dtype=np.int64))
        del trial
    return SessionWindows(np.concatenate(xs), np.concatenate(ys), np.concatenate(ts),
                          sf.subject, sf.session)


class SessionStore:
    """Gives a session's windows (:meth:`get`) and pools of selected trials (:meth:`pool`)."""

    def get(self, session: Any) -> SessionWindows:
        """Windows of one session."""
        raise NotImplementedError

    def pool(self, selection: list[tuple[Any, tuple[int, ...]]],
             desc: str | None = None) -> WindowPool:
        """Windows of the selected trials (1-based numbers) of the selected sessions.

        ``desc``: a progress bar over the sessions, so named (reading, filtering and caching a
        session the first time can take seconds); None: no bar.
        """
        parts = []
        sessions = progress_bar(selection, desc=desc, unit="session", leave=False,
                                disable=desc is None)
        for session, trials in sessions:
            sw = self.get(session)
            parts.append((sw, np.isin(sw.trial, trials)))
        return WindowPool(parts)


class WindowStore(SessionStore):
    """Gives each SEED session's windows, from memory (last session only) or a disk cache.

    Args:
        labels: (15,) class per trial.
        window, stride: in samples (at the chain's rate).
        cache_dir: folder for memory-mapped ``.npy`` caches; None keeps the most recent
            session in memory only.
        chain: the signal chain applied to each trial (None: none).
    """

    def __init__(self, labels: np.ndarray, window: int, stride: int,
                 cache_dir: Path | None = None, chain: SignalChain | None = None) -> None:
        self.labels = labels
        self.window, self.stride = window, stride
        self.cache_dir = cache_dir
        self.chain = chain
        self._last: tuple[Path, SessionWindows] | None = None

    def get(self, sf: SessionFile) -> SessionWindows:
        """Windows of one session (a memory map when a cache folder is set)."""
        if self._last is not None and self._last[0] == sf.path:
            return self._last[1]
        self._last = None  # never two sessions in memory at once
        sw = self._cached(sf) if self.cache_dir is not None else session_windows(
            sf, self.labels, self.window, self.stride, self.chain)
        self._last = (sf.path, sw)
        return sw

    def _cached(self, sf: SessionFile) -> SessionWindows:
        assert self.cache_dir is not None
        chain = self.chain.key() if self.chain is not None else "raw"
        folder = self.cache_dir / f"w{self.window}_s{self.stride}_{chain}"
        stem = folder / sf.path.stem
        files = [stem.with_suffix(s) for s in (".x.npy", ".y.npy", ".trial.npy")]
        stat = sf.path.stat()
        tag = stem.with_suffix(".source")
        source = f"{sf.path.resolve()}|{stat.st_size}|{int(stat.st_mtime)}"
        fresh = all(f.exists() for f in files) and tag.exists() and tag.read_text() == source
        if not fresh:
            folder.mkdir(parents=True, exist_ok=True)
            sw = session_windows(sf, self.labels, self.window, self.stride, self.chain)
            for f, arr in zip(files, (sw.x, sw.y, sw.trial), strict=True):
                np.save(f, arr)
            tag.write_text(source)
            del sw
        x, y, trial = (np.load(f, mmap_mode="r") for f in files)
        return SessionWindows(x, np.asarray(y), np.asarray(trial), sf.subject, sf.session)
